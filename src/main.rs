fn main() {
    eprintln!("xdpcap: not built yet");
    std::process::exit(2);
}
