//! `epoll(7)`: waiting on many perf ring fds and a signal fd at once.

use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use rustix::event::epoll;

use super::error::{Errno, Error, Result};

/// An epoll set whose members are identified by a caller-chosen token.
pub struct Epoll {
    fd: OwnedFd,
    members: usize,
    events: Vec<epoll::Event>,
}

impl std::fmt::Debug for Epoll {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Epoll")
            .field("fd", &self.fd)
            .field("members", &self.members)
            .finish()
    }
}

impl Epoll {
    /// `epoll_create1(EPOLL_CLOEXEC)`.
    pub fn new() -> Result<Epoll> {
        let fd = epoll::create(epoll::CreateFlags::CLOEXEC)
            .map_err(|e| Error::new("epoll_create1", e))?;
        Ok(Epoll {
            fd,
            members: 0,
            events: Vec::new(),
        })
    }

    /// `epoll_ctl(EPOLL_CTL_ADD)`: wake [`Epoll::wait`] with `token` when
    /// `fd` is readable.
    pub fn add(&mut self, fd: impl AsFd, token: u64) -> Result<()> {
        epoll::add(
            &self.fd,
            fd,
            epoll::EventData::new_u64(token),
            epoll::EventFlags::IN,
        )
        .map_err(|e| Error::new("epoll_ctl", e).with_object(format!("token {token}")))?;
        self.members += 1;
        Ok(())
    }

    /// `epoll_ctl(EPOLL_CTL_DEL)`.
    pub fn delete(&mut self, fd: impl AsFd) -> Result<()> {
        epoll::delete(&self.fd, fd).map_err(|e| Error::new("epoll_ctl", e))?;
        self.members = self.members.saturating_sub(1);
        Ok(())
    }

    /// `epoll_wait(2)`: replaces the contents of `ready` with the tokens of
    /// the members that are readable, waiting at most `timeout` (forever if
    /// `None`). An interrupted wait returns with `ready` empty.
    pub fn wait(&mut self, timeout: Option<Duration>, ready: &mut Vec<u64>) -> Result<()> {
        ready.clear();
        self.events.clear();
        self.events.reserve(self.members.max(1));
        let ts = timeout.map(|t| rustix::event::Timespec {
            tv_sec: t.as_secs().min(i64::MAX as u64) as _,
            tv_nsec: t.subsec_nanos() as _,
        });
        match epoll::wait(
            &self.fd,
            rustix::buffer::spare_capacity(&mut self.events),
            ts.as_ref(),
        ) {
            Ok(_) => {}
            Err(Errno::INTR) => return Ok(()),
            Err(e) => return Err(Error::new("epoll_wait", e)),
        }
        ready.extend(self.events.iter().map(|ev| ev.data.u64()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_reports_readable_members_by_token() {
        let (r1, w1) = rustix::pipe::pipe().unwrap();
        let (r2, _w2) = rustix::pipe::pipe().unwrap();
        let mut ep = Epoll::new().unwrap();
        ep.add(&r1, 11).unwrap();
        ep.add(&r2, 22).unwrap();
        let mut ready = vec![99];
        ep.wait(Some(Duration::from_millis(1)), &mut ready).unwrap();
        assert!(ready.is_empty());
        assert_eq!(rustix::io::write(&w1, b"x").unwrap(), 1);
        ep.wait(Some(Duration::from_secs(5)), &mut ready).unwrap();
        assert_eq!(ready, vec![11]);
        ep.delete(&r1).unwrap();
        ep.wait(Some(Duration::from_millis(1)), &mut ready).unwrap();
        assert!(ready.is_empty());
    }
}
