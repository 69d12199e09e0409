//! Child processes with async stdio: the seeds' `subprocess.Popen` and `communicate`.
//!
//! [`Command`] wraps `std::process::Command` (same builder methods, same `Stdio` values);
//! `spawn` gives a [`Child`] whose piped stdin/stdout/stderr are async streams registered
//! with the loop, and whose exit is awaited without blocking it (a pidfd on Linux).
//!
//! | Python | corio |
//! |---|---|
//! | `Popen(args, stdout=PIPE)` | `Command::new(p).args(a).stdout(Stdio::piped()).spawn()` |
//! | `p.communicate(input)` | `child.communicate(input).await` |
//! | `subprocess.run(args, capture_output=True)` | `Command::new(p).args(a).output().await` |
//! | `p.wait()` / `p.poll()` / `p.kill()` | `child.wait().await` / `child.try_wait()` / `child.kill().await` |
//!
//! ```
//! use corio_net::process::Command;
//! corio_runtime::run(async {
//!     let output = Command::new("echo").arg("hello").output().await.unwrap();
//!     assert!(output.status.success());
//!     assert_eq!(output.stdout, b"hello\n");
//! });
//! ```

mod child;
mod reap;
mod stdio;

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::path::Path;
use std::process::{ExitStatus, Output, Stdio};

pub use child::Child;
pub use stdio::{ChildStderr, ChildStdin, ChildStdout};

/// A process builder, like `std::process::Command`, whose `spawn` gives a [`Child`] with
/// async stdio. `Stdio::piped()` streams become [`ChildStdin`], [`ChildStdout`],
/// [`ChildStderr`].
///
/// ```
/// use corio_net::process::Command;
/// use std::process::Stdio;
/// corio_runtime::run(async {
///     let child = Command::new("sh")
///         .args(["-c", "read name; echo hello $name"])
///         .stdin(Stdio::piped())
///         .stdout(Stdio::piped())
///         .spawn()
///         .unwrap();
///     let output = child.communicate(b"corio\n").await.unwrap();
///     assert_eq!(output.stdout, b"hello corio\n");
/// });
/// ```
pub struct Command {
    std: std::process::Command,
    kill_on_drop: bool,
    stdin_set: bool,
    stdout_set: bool,
    stderr_set: bool,
}

impl Command {
    /// A command to run `program` (looked up in `PATH` when it has no slash).
    ///
    /// ```
    /// let cmd = corio_net::process::Command::new("ls");
    /// ```
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command::from(std::process::Command::new(program))
    }

    /// Add one argument.
    ///
    /// ```
    /// let mut cmd = corio_net::process::Command::new("ls");
    /// cmd.arg("-l");
    /// ```
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Add several arguments.
    ///
    /// ```
    /// let mut cmd = corio_net::process::Command::new("ls");
    /// cmd.args(["-l", "-a"]);
    /// ```
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Set an environment variable for the child.
    ///
    /// ```
    /// let mut cmd = corio_net::process::Command::new("env");
    /// cmd.env("GREETING", "hi");
    /// ```
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Command {
        self.std.env(key, value);
        self
    }

    /// Set several environment variables.
    ///
    /// ```
    /// let mut cmd = corio_net::process::Command::new("env");
    /// cmd.envs([("A", "1"), ("B", "2")]);
    /// ```
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Remove a variable from the child's environment.
    ///
    /// ```
    /// let mut cmd = corio_net::process::Command::new("env");
    /// cmd.env_remove("HOME");
    /// ```
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Start the child with an empty environment.
    ///
    /// ```
    /// let mut cmd = corio_net::process::Command::new("env");
    /// cmd.env_clear();
    /// ```
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// Run the child in `dir`.
    ///
    /// ```
    /// let mut cmd = corio_net::process::Command::new("pwd");
    /// cmd.current_dir(std::env::temp_dir());
    /// ```
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// Configure the child's stdin (`Stdio::piped()`, `null()`, `inherit()`, a file...).
    /// Default: inherited, except for [`output`](Self::output) (null).
    ///
    /// ```
    /// let mut cmd = corio_net::process::Command::new("cat");
    /// cmd.stdin(std::process::Stdio::piped());
    /// ```
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdin(cfg);
        self.stdin_set = true;
        self
    }

    /// Configure the child's stdout. Default: inherited, except for
    /// [`output`](Self::output) (piped).
    ///
    /// ```
    /// let mut cmd = corio_net::process::Command::new("ls");
    /// cmd.stdout(std::process::Stdio::piped());
    /// ```
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdout(cfg);
        self.stdout_set = true;
        self
    }

    /// Configure the child's stderr. Default: inherited, except for
    /// [`output`](Self::output) (piped).
    ///
    /// ```
    /// let mut cmd = corio_net::process::Command::new("ls");
    /// cmd.stderr(std::process::Stdio::null());
    /// ```
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stderr(cfg);
        self.stderr_set = true;
        self
    }

    /// Kill the child (SIGKILL) when its [`Child`] is dropped before the exit was collected.
    /// Off by default: a dropped `Child` keeps running (and is reaped in the background).
    ///
    /// ```
    /// use corio_net::process::Command;
    /// corio_runtime::run(async {
    ///     let child = Command::new("sleep").arg("60").kill_on_drop(true).spawn().unwrap();
    ///     drop(child); // the sleep is killed
    /// });
    /// ```
    pub fn kill_on_drop(&mut self, kill: bool) -> &mut Command {
        self.kill_on_drop = kill;
        self
    }

    /// The `std` command inside, for settings this wrapper does not forward (e.g. the
    /// Unix `CommandExt` methods).
    ///
    /// ```
    /// use std::os::unix::process::CommandExt;
    /// let mut cmd = corio_net::process::Command::new("true");
    /// cmd.as_std_mut().process_group(0);
    /// ```
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.std
    }

    /// The `std` command inside.
    ///
    /// ```
    /// let cmd = corio_net::process::Command::new("true");
    /// assert_eq!(cmd.as_std().get_program(), "true");
    /// ```
    pub fn as_std(&self) -> &std::process::Command {
        &self.std
    }

    /// Start the child. Errors name the program (`NotFound` if it does not exist).
    ///
    /// # Panics
    /// Outside a corio runtime.
    ///
    /// ```
    /// use corio_net::process::Command;
    /// corio_runtime::run(async {
    ///     let mut child = Command::new("true").spawn().unwrap();
    ///     child.wait().await.unwrap();
    ///     let err = Command::new("/no/such/program").spawn().unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// });
    /// ```
    pub fn spawn(&mut self) -> io::Result<Child> {
        reap::reap_orphans();
        let std = self.std.spawn().map_err(|e| {
            let program = self.std.get_program().to_string_lossy();
            io::Error::new(e.kind(), format!("spawn {program:?}: {e}"))
        })?;
        Child::new(std, self.kill_on_drop)
    }

    /// Run the child to completion with inherited stdio (unless configured) and return its
    /// exit status.
    ///
    /// ```
    /// use corio_net::process::Command;
    /// corio_runtime::run(async {
    ///     let status = Command::new("false").status().await.unwrap();
    ///     assert_eq!(status.code(), Some(1));
    /// });
    /// ```
    pub async fn status(&mut self) -> io::Result<ExitStatus> {
        self.spawn()?.wait().await
    }

    /// Run the child to completion and collect everything it wrote: stdout and stderr are
    /// piped and stdin is null unless configured otherwise (`subprocess.run(...,
    /// capture_output=True)`).
    ///
    /// ```
    /// use corio_net::process::Command;
    /// corio_runtime::run(async {
    ///     let out = Command::new("sh").args(["-c", "echo a; echo b >&2; exit 2"]).output().await.unwrap();
    ///     assert_eq!((out.stdout.as_slice(), out.stderr.as_slice()), (&b"a\n"[..], &b"b\n"[..]));
    ///     assert_eq!(out.status.code(), Some(2));
    /// });
    /// ```
    pub async fn output(&mut self) -> io::Result<Output> {
        // Apply output()'s defaults for this spawn only, then restore spawn()'s defaults.
        let (stdin_set, stdout_set, stderr_set) =
            (self.stdin_set, self.stdout_set, self.stderr_set);
        if !stdin_set {
            self.std.stdin(Stdio::null());
        }
        if !stdout_set {
            self.std.stdout(Stdio::piped());
        }
        if !stderr_set {
            self.std.stderr(Stdio::piped());
        }
        let child = self.spawn();
        if !stdin_set {
            self.std.stdin(Stdio::inherit());
        }
        if !stdout_set {
            self.std.stdout(Stdio::inherit());
        }
        if !stderr_set {
            self.std.stderr(Stdio::inherit());
        }
        child?.wait_with_output().await
    }
}

impl From<std::process::Command> for Command {
    /// Take over a configured `std` command (stdio settings made on it are kept).
    fn from(std: std::process::Command) -> Command {
        Command {
            std,
            kill_on_drop: false,
            stdin_set: false,
            stdout_set: false,
            stderr_set: false,
        }
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Command")
            .field("std", &self.std)
            .field("kill_on_drop", &self.kill_on_drop)
            .finish()
    }
}
