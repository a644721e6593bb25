//! Control-socket connections on the event loop. Each is non-blocking, with
//! its own buffer, a request-length limit and a deadline; at most
//! [`MAX_CLIENTS`] at once, and the next one is told so and closed. One
//! request line in, one reply line out, then the connection closes
//! (docs/CONTROL.md). No client, however slow or silent, holds the loop.

use std::io::{self, Read, Write};
use std::time::Duration;

use mio::net::{UnixListener, UnixStream};
use mio::{Interest, Registry, Token};

use crate::control::{self, MAX_REQUEST};
use crate::time::Instant;

/// Connections served at once; a local tool needs one, a busy LuCI a few.
pub const MAX_CLIENTS: usize = 64;
/// From accept to the last byte of the reply: the CLI gives up after 2 s.
pub const DEADLINE: Duration = Duration::from_secs(2);
/// Client `i` has token `TOKEN_BASE + i`, above every group and tracker token.
pub const TOKEN_BASE: usize = 1 << 24;

struct Client {
    stream: UnixStream,
    request: Vec<u8>,
    reply: Vec<u8>,
    written: usize,
    deadline: Instant,
    /// The request is complete: only the reply is left to write.
    answered: bool,
}

#[derive(Default)]
pub struct Clients {
    slots: Vec<Option<Client>>,
}

impl Clients {
    /// Accepts every pending connection: registered, or refused with a
    /// reason when [`MAX_CLIENTS`] are connected.
    pub fn accept(&mut self, listener: &UnixListener, reg: &Registry, now: Instant) {
        loop {
            let mut stream = match listener.accept() {
                Ok((s, _)) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    crate::logging::warn!("control socket: {e}");
                    return;
                }
            };
            let free = self.slots.iter().position(Option::is_none);
            let slot = match free {
                Some(i) => i,
                None if self.slots.len() < MAX_CLIENTS => {
                    self.slots.push(None);
                    self.slots.len() - 1
                }
                None => {
                    // A fresh socket's buffer takes this whole line.
                    let msg = control::error_json(&format!("busy: {MAX_CLIENTS} clients connected, try again")) + "\n";
                    let _ = stream.write(msg.as_bytes());
                    crate::logging::debug!("control socket: {MAX_CLIENTS} clients connected: one refused");
                    continue;
                }
            };
            if let Err(e) = reg.register(&mut stream, Token(TOKEN_BASE + slot), Interest::READABLE) {
                crate::logging::warn!("control socket: {e}");
                continue;
            }
            self.slots[slot] = Some(Client {
                stream,
                request: Vec::new(),
                reply: Vec::new(),
                written: 0,
                deadline: now.plus(DEADLINE),
                answered: false,
            });
        }
    }

    /// An event on client token `t`: reads what came, writes what is left
    /// of a reply. A complete request (its line without the newline) is
    /// handed out with the client's slot, to be answered with `reply`.
    pub fn ready(&mut self, t: usize, reg: &Registry) -> Option<(usize, Vec<u8>)> {
        let slot = t.checked_sub(TOKEN_BASE)?;
        let c = self.slots.get_mut(slot).and_then(Option::as_mut)?;
        if c.answered {
            self.flush(slot, reg);
            return None;
        }
        let mut buf = [0u8; 4096];
        loop {
            match c.stream.read(&mut buf) {
                // End of input: whatever came is the request.
                Ok(0) => return Some((slot, std::mem::take(&mut c.request))),
                Ok(n) => {
                    let start = c.request.len();
                    c.request.extend_from_slice(&buf[..n]);
                    let line_end = c.request[start..].iter().position(|&b| b == b'\n').map(|nl| start + nl);
                    if line_end.unwrap_or(c.request.len()) > MAX_REQUEST {
                        // Whether its newline came or not: never half a request.
                        self.reply(slot, control::error_json(&control::too_long()).into_bytes(), reg);
                        return None;
                    }
                    if let Some(end) = line_end {
                        c.request.truncate(end);
                        return Some((slot, std::mem::take(&mut c.request)));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.close(slot, reg);
                    return None;
                }
            }
        }
    }

    /// Sends `line` (and a newline) to client `slot`, then closes it; what
    /// the socket does not take at once goes when it is writable.
    pub fn reply(&mut self, slot: usize, mut line: Vec<u8>, reg: &Registry) {
        let Some(c) = self.slots.get_mut(slot).and_then(Option::as_mut) else { return };
        line.push(b'\n');
        c.reply = line;
        c.answered = true;
        self.flush(slot, reg);
    }

    fn flush(&mut self, slot: usize, reg: &Registry) {
        let Some(c) = self.slots.get_mut(slot).and_then(Option::as_mut) else { return };
        while c.written < c.reply.len() {
            match c.stream.write(&c.reply[c.written..]) {
                Ok(n) => c.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let t = Token(TOKEN_BASE + slot);
                    if reg.reregister(&mut c.stream, t, Interest::WRITABLE).is_err() {
                        break;
                    }
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Gone (EPIPE): the daemon ignores SIGPIPE.
                Err(_) => break,
            }
        }
        self.close(slot, reg);
    }

    fn close(&mut self, slot: usize, reg: &Registry) {
        if let Some(mut c) = self.slots.get_mut(slot).and_then(Option::take) {
            let _ = reg.deregister(&mut c.stream);
        }
    }

    /// The earliest client deadline.
    pub fn deadline(&self) -> Option<Instant> {
        self.slots.iter().flatten().map(|c| c.deadline).min()
    }

    /// Closes every client past its deadline, unanswered or not.
    pub fn expire(&mut self, now: Instant, reg: &Registry) {
        for slot in 0..self.slots.len() {
            if self.slots[slot].as_ref().is_some_and(|c| now >= c.deadline) {
                crate::logging::debug!("control socket: client past its deadline: closed");
                self.close(slot, reg);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mio::{Events, Poll};
    use std::io::{BufRead, BufReader};
    use std::os::unix::net::UnixStream as StdStream;

    struct Bed {
        poll: Poll,
        listener: UnixListener,
        clients: Clients,
        path: std::path::PathBuf,
    }

    impl Bed {
        fn new(tag: &str) -> Bed {
            let path = std::env::temp_dir().join(format!("vwrp-clients-{tag}-{}.sock", std::process::id()));
            let _ = std::fs::remove_file(&path);
            let listener = UnixListener::bind(&path).unwrap();
            Bed { poll: Poll::new().unwrap(), listener, clients: Clients::default(), path }
        }

        fn connect(&self) -> StdStream {
            let s = StdStream::connect(&self.path).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            s
        }

        /// One loop turn's worth: accept, then serve every ready client
        /// with `reply`; returns the requests seen.
        /// Turns (answering "{}") until no client has a deadline left, at
        /// most 100 times; the requests served.
        fn serve_until_idle(&mut self) -> Vec<String> {
            let mut seen = Vec::new();
            for _ in 0..100 {
                seen.extend(self.turn("{}"));
                if self.clients.deadline().is_none() {
                    break;
                }
            }
            seen
        }

        fn turn(&mut self, reply: &str) -> Vec<String> {
            self.clients.accept(&self.listener, self.poll.registry(), Instant::ZERO);
            let mut events = Events::with_capacity(128);
            self.poll.poll(&mut events, Some(Duration::from_millis(50))).unwrap();
            let mut seen = Vec::new();
            for ev in events.iter() {
                if let Some((slot, req)) = self.clients.ready(ev.token().0, self.poll.registry()) {
                    seen.push(String::from_utf8_lossy(&req).into_owned());
                    self.clients.reply(slot, reply.as_bytes().to_vec(), self.poll.registry());
                }
            }
            seen
        }
    }

    impl Drop for Bed {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.path);
        }
    }

    fn read_line(s: &StdStream) -> String {
        let mut line = String::new();
        BufReader::new(s).read_line(&mut line).unwrap();
        line
    }

    #[test]
    fn a_request_line_gets_one_reply_and_the_connection_closes() {
        let mut bed = Bed::new("one");
        let mut c = bed.connect();
        // In two pieces: the daemon waits for the newline.
        c.write_all(br#"{"cmd":"#).unwrap();
        assert!(bed.turn("{}").is_empty());
        c.write_all(b"\"status\"}\nignored").unwrap();
        assert_eq!(bed.turn(r#"{"ok":true}"#), vec![r#"{"cmd":"status"}"#.to_string()]);
        assert_eq!(read_line(&c), "{\"ok\":true}\n");
        assert_eq!(read_line(&c), "", "closed after the reply");
        assert_eq!(bed.clients.deadline(), None);
    }

    #[test]
    fn a_request_over_the_limit_is_refused() {
        let mut bed = Bed::new("long");
        let mut c = bed.connect();
        let big = vec![b'x'; MAX_REQUEST + 1];
        let writer = std::thread::spawn(move || {
            let _ = c.write_all(&big);
            c
        });
        let seen = bed.serve_until_idle();
        let c = writer.join().unwrap();
        assert!(seen.is_empty(), "a cut request must not be served");
        assert_eq!(read_line(&c), "{\"error\":\"request too long: more than 65536 bytes\"}\n");
    }

    /// A line over the limit whose newline comes in the same read as the
    /// bytes past the limit is refused too, not served.
    #[test]
    fn a_long_line_with_its_newline_is_refused() {
        for len in [MAX_REQUEST + 1, MAX_REQUEST + 100, MAX_REQUEST + 4095] {
            let mut bed = Bed::new("longnl");
            let mut c = bed.connect();
            let mut line = vec![b' '; len];
            line.extend_from_slice(b"\n");
            let writer = std::thread::spawn(move || {
                let _ = c.write_all(&line);
                c
            });
            let seen = bed.serve_until_idle();
            let c = writer.join().unwrap();
            assert!(seen.is_empty(), "{len}: a request over the limit must not be served");
            assert!(read_line(&c).contains("request too long"), "{len}");
        }
    }

    #[test]
    fn past_the_cap_a_client_is_told_and_closed() {
        let mut bed = Bed::new("cap");
        let held: Vec<StdStream> = (0..MAX_CLIENTS).map(|_| bed.connect()).collect();
        bed.turn("{}");
        let extra = bed.connect();
        bed.turn("{}");
        let line = read_line(&extra);
        assert!(line.contains("busy: 64 clients connected"), "{line}");
        assert_eq!(read_line(&extra), "");
        // The held ones are still served.
        (&held[0]).write_all(b"{}\n").unwrap();
        assert_eq!(bed.turn("{\"ok\":true}"), vec!["{}".to_string()]);
        assert_eq!(read_line(&held[0]), "{\"ok\":true}\n");
    }

    #[test]
    fn a_silent_client_is_closed_at_its_deadline() {
        let mut bed = Bed::new("silent");
        let c = bed.connect();
        bed.turn("{}");
        let d = bed.clients.deadline().expect("connected");
        bed.clients.expire(Instant::from_micros(d.as_micros() - 1), bed.poll.registry());
        assert!(bed.clients.deadline().is_some());
        bed.clients.expire(d, bed.poll.registry());
        assert_eq!(bed.clients.deadline(), None);
        assert_eq!(read_line(&c), "", "closed without a reply");
    }
}
