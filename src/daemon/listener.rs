//! The control socket's file: created root-only, without touching what is
//! not vwrp's. `globals.control_socket` may name any path, so nothing is
//! assumed about it:
//!
//! - its directory is created (mode 0700) when missing; an existing one is
//!   never changed, and refused when anyone may write to it (another user
//!   could replace the socket) or when it is not root's;
//! - at the path itself only a stale socket is ever removed: a regular
//!   file, a directory or a symlink there is refused, and a socket that
//!   answers belongs to a running daemon;
//! - the socket is made with mode 0600 from the start (umask during bind),
//!   so there is no moment at which anyone else may connect.

use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

use mio::net::UnixListener;

fn refuse(path: &Path, why: String) -> io::Error {
    io::Error::new(io::ErrorKind::PermissionDenied, format!("control socket {}: {why}", path.display()))
}

/// Binds the control socket at `path` (see the module's rules).
pub fn open(path: &Path) -> io::Result<UnixListener> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("/"));
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // Only the last component: a missing parent of it is a mistake.
            std::fs::DirBuilder::new().mode(0o700).create(dir).map_err(|e| {
                io::Error::new(e.kind(), format!("control socket {}: creating {}: {e}", path.display(), dir.display()))
            })?;
        }
        Err(e) => return Err(e),
        Ok(_) => check_dir(path, dir)?,
    }
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
        Ok(m) if !m.file_type().is_socket() => {
            return Err(refuse(path, "something else than a socket is there; vwrp removes only a stale socket".into()));
        }
        Ok(_) => {
            // A socket that answers belongs to a running daemon: two
            // daemons on one router would fight over the fence. Connecting
            // does not wait: a full backlog (a daemon that does not
            // accept) says "running" too.
            let probe = mio::net::UnixStream::connect(path);
            if probe.is_ok() || probe.is_err_and(|e| e.kind() == io::ErrorKind::WouldBlock) {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("{}: another vwrp daemon is running", path.display()),
                ));
            }
            std::fs::remove_file(path)?;
        }
    }
    // SAFETY: umask only swaps the process's file mode mask; the daemon is
    // single-threaded, so nothing else creates a file meanwhile.
    let old = unsafe { nix::libc::umask(0o177) };
    let bound = UnixListener::bind(path);
    // SAFETY: as above, restoring the mask.
    unsafe { nix::libc::umask(old) };
    let listener = bound?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// An existing directory is used as it is, if nobody but root can change
/// what is in it.
fn check_dir(path: &Path, dir: &Path) -> io::Result<()> {
    let m = std::fs::metadata(dir)?;
    if !m.is_dir() {
        return Err(refuse(path, format!("{} is not a directory", dir.display())));
    }
    let mode = m.mode() & 0o7777;
    if mode & 0o002 != 0 {
        return Err(refuse(
            path,
            format!(
                "{} is world-writable (mode {mode:04o}): anyone could replace the socket; use a directory of \
                 root's only, such as the default /var/run/vwrp",
                dir.display()
            ),
        ));
    }
    // SAFETY: geteuid cannot fail and has no side effect.
    let me = unsafe { nix::libc::geteuid() };
    if m.uid() != me {
        return Err(refuse(path, format!("{} belongs to user {}, not to vwrp's user {me}", dir.display(), m.uid())));
    }
    Ok(())
}

/// On the way out: removes the file at `path` if it is still a socket.
pub fn remove(path: &Path) {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => {
            if let Err(e) = std::fs::remove_file(path) {
                crate::logging::warn!("{}: {e}", path.display());
            }
        }
        Ok(_) => crate::logging::warn!("{}: no longer a socket: left in place", path.display()),
        Err(e) => crate::logging::warn!("{}: {e}", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A scratch directory, removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(tag: &str) -> Scratch {
            let d = std::env::temp_dir().join(format!("vwrp-listener-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir(&d).unwrap();
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
            Scratch(d)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn mode(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().mode() & 0o7777
    }

    #[test]
    fn a_missing_directory_is_created_root_only_and_the_socket_is_0600() {
        let s = Scratch::new("new");
        let path = s.0.join("run/vwrp.sock");
        let l = open(&path).unwrap();
        assert_eq!(mode(&s.0.join("run")), 0o700);
        assert_eq!(mode(&path), 0o600);
        drop(l);
        remove(&path);
        assert!(!path.exists());
        // Only the last component is created.
        let e = open(&s.0.join("a/b/vwrp.sock")).unwrap_err();
        assert!(e.to_string().contains("creating"), "{e}");
        assert!(!s.0.join("a").exists());
    }

    #[test]
    fn an_existing_directory_is_left_as_it_is() {
        let s = Scratch::new("keep");
        let path = s.0.join("vwrp.sock");
        let _l = open(&path).unwrap();
        assert_eq!(mode(&s.0), 0o755, "the directory's mode was changed");
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn a_world_writable_directory_is_refused_and_untouched() {
        let s = Scratch::new("tmp");
        std::fs::set_permissions(&s.0, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let path = s.0.join("vwrp.sock");
        let e = open(&path).unwrap_err();
        assert!(e.to_string().contains("is world-writable (mode 1777)"), "{e}");
        assert_eq!(mode(&s.0), 0o1777);
        assert!(!path.exists());
    }

    #[test]
    fn only_a_stale_socket_is_ever_removed() {
        let s = Scratch::new("stale");
        let path = s.0.join("vwrp.sock");
        // A regular file, a directory, a symlink: refused and kept.
        std::fs::write(&path, "precious").unwrap();
        let e = open(&path).unwrap_err();
        assert!(e.to_string().contains("something else than a socket is there"), "{e}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        assert!(open(&path).is_err());
        assert!(path.is_dir());
        std::fs::remove_dir(&path).unwrap();
        std::os::unix::fs::symlink("/dev/null", &path).unwrap();
        assert!(open(&path).is_err());
        assert!(std::fs::symlink_metadata(&path).unwrap().file_type().is_symlink());
        std::fs::remove_file(&path).unwrap();

        // A socket nobody listens on is stale: replaced.
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let live = open(&path).unwrap();
        // A live one is a running daemon's.
        let e = open(&path).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AddrInUse);
        drop(live);
        // On exit, a file that is no longer a socket stays.
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, "precious").unwrap();
        remove(&path);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
    }
}
