//! Running a command to completion with a time limit, so a stuck tool fails
//! the test instead of hanging it.

use std::fs::{self, File};
use std::io;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// How long `Testbed::exec` lets a command run.
pub const EXEC_TIMEOUT: Duration = Duration::from_secs(60);

static NEXT_OUTPUT: AtomicU64 = AtomicU64::new(0);

/// Runs `cmd` to completion, its output captured in files under `dir`.
///
/// Files rather than pipes: a command that leaves a background child
/// holding its stdout open must not block the test.
pub fn output(mut cmd: Command, dir: &Path, timeout: Duration) -> io::Result<Output> {
    let n = NEXT_OUTPUT.fetch_add(1, Ordering::Relaxed);
    let out_path = dir.join(format!("exec-{n}.out"));
    let err_path = dir.join(format!("exec-{n}.err"));
    cmd.stdin(Stdio::null()).stdout(File::create(&out_path)?).stderr(File::create(&err_path)?);
    let mut child = cmd.spawn()?;
    let status = wait_timeout(&mut child, timeout)?;
    let stdout = fs::read(&out_path).unwrap_or_default();
    let stderr = fs::read(&err_path).unwrap_or_default();
    let _ = fs::remove_file(&out_path);
    let _ = fs::remove_file(&err_path);
    match status {
        Some(status) => Ok(Output { status, stdout, stderr }),
        None => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "{cmd:?} still running after {timeout:?}; stdout: {} stderr: {}",
                String::from_utf8_lossy(&stdout),
                String::from_utf8_lossy(&stderr)
            ),
        )),
    }
}

/// Waits for `child` up to `timeout`; on timeout kills and reaps it and
/// returns `None`.
pub fn wait_timeout(child: &mut Child, timeout: Duration) -> io::Result<Option<ExitStatus>> {
    if let Some(status) = wait_for_exit(child, timeout)? {
        return Ok(Some(status));
    }
    child.kill()?;
    child.wait()?;
    Ok(None)
}

/// Polls `child` until it exits or `timeout` passes; leaves it running.
pub fn wait_for_exit(child: &mut Child, timeout: Duration) -> io::Result<Option<ExitStatus>> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if start.elapsed() >= timeout {
            return Ok(None);
        }
        sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(10));
    }
}

/// Panics with everything a reader needs when `out` is not a success.
pub fn check(what: &str, out: Output) -> Output {
    if !out.status.success() {
        panic!(
            "{what} failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}
