//! Temporary files that never outlive the run that made them.
//!
//! Every file twostage writes (a checkpoint, a metrics file, a download) goes first to a hidden
//! sibling `.<name>.<kind>-<pid>` and is renamed over its final name only once complete. A
//! [`TempFile`] is removed when it is dropped without being persisted (an error, a panic), and
//! [`remove_on_signal`] removes every live one when the process gets SIGINT, SIGTERM, SIGHUP or
//! SIGQUIT. What
//! only `kill -9` or a power cut can leave behind, [`remove_stale`] sweeps up on the next run:
//! a temporary file whose process is gone.

use std::collections::BTreeSet;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// The temporary files alive in this process. Creation, removal and the rename that persists a
/// file all happen under this lock, so the signal handler, which takes it and never lets go,
/// sees every file that exists.
static LIVE: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

fn live() -> MutexGuard<'static, BTreeSet<PathBuf>> {
    // A panic while holding the lock leaves the set itself consistent.
    LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The kinds of temporary file, by the word in their name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `.<name>.tmp-<pid>`: an atomic write of a checkpoint or metrics file.
    Write,
    /// `.<name>.part-<pid>`: a download in progress.
    Download,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Write => "tmp",
            Kind::Download => "part",
        }
    }
}

/// The hidden sibling `.<name>.<kind>-<pid>` through which `path` is written, or `None` when
/// `path` names no file (`/`, `..`, a trailing slash).
pub fn sibling(path: &Path, kind: Kind) -> Option<PathBuf> {
    if path
        .as_os_str()
        .to_string_lossy()
        .ends_with(std::path::MAIN_SEPARATOR)
    {
        return None;
    }
    let name = path.file_name()?.to_string_lossy();
    let directory = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Some(directory.join(temporary_name(&name, kind)))
}

/// The longest file name most file systems accept (Linux's `NAME_MAX`, in bytes).
const NAME_MAX: usize = 255;

/// `.<name>.<kind>-<pid>`, or, when that would be longer than [`NAME_MAX`], `.<stem>~<n>.<kind>-<pid>`
/// with `name` cut to fit and `n` counting such names in this process: any name the file system
/// accepts can be written through its temporary sibling, and two cut names never collide.
fn temporary_name(name: &str, kind: Kind) -> String {
    let suffix = format!(".{}-{}", kind.word(), std::process::id());
    let whole = format!(".{name}{suffix}");
    if whole.len() <= NAME_MAX {
        return whole;
    }
    static CUT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = CUT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let marker = format!("~{n}");
    let mut keep = NAME_MAX - 1 - marker.len() - suffix.len();
    while !name.is_char_boundary(keep) {
        keep -= 1;
    }
    format!(".{}{marker}{suffix}", &name[..keep])
}

/// A temporary file: removed on drop, or on SIGINT/SIGTERM/SIGHUP/SIGQUIT once [`remove_on_signal`] is
/// installed, unless [`TempFile::persist`] renamed it to its final name.
#[derive(Debug)]
pub struct TempFile {
    path: PathBuf,
    persisted: bool,
}

impl TempFile {
    /// Creates (truncating) the file at `path` and registers it for removal.
    pub fn create(path: PathBuf) -> io::Result<(TempFile, File)> {
        let mut set = live();
        let file = File::create(&path)?;
        set.insert(path.clone());
        Ok((
            TempFile {
                path,
                persisted: false,
            },
            file,
        ))
    }

    /// Where the temporary file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the temporary file over `destination`: atomic on one file system.
    pub fn persist(mut self, destination: &Path) -> io::Result<()> {
        let mut set = live();
        std::fs::rename(&self.path, destination)?;
        set.remove(&self.path);
        self.persisted = true;
        Ok(())
    }
}

impl TempFile {
    /// Like [`TempFile::persist`], but never replaces anything: fails with `AlreadyExists` if
    /// `destination` exists, even if it appeared a moment ago. A hard link makes the check and
    /// the move one step; where the file system has no hard links, a check then a rename.
    pub fn persist_new(mut self, destination: &Path) -> io::Result<()> {
        let mut set = live();
        match std::fs::hard_link(&self.path, destination) {
            Ok(()) => {
                let _ = std::fs::remove_file(&self.path);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(e),
            Err(_) => {
                if std::fs::symlink_metadata(destination).is_ok() {
                    return Err(io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        "a file appeared there meanwhile; it was left as it is",
                    ));
                }
                std::fs::rename(&self.path, destination)?;
            }
        }
        set.remove(&self.path);
        self.persisted = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted {
            let mut set = live();
            // It may already be gone; there is nothing to report either way.
            let _ = std::fs::remove_file(&self.path);
            set.remove(&self.path);
        }
    }
}

/// Installs, once, a handler that on SIGINT, SIGTERM, SIGHUP or SIGQUIT removes every live [`TempFile`] and
/// exits with status 128 + the signal number, as a shell reports a killed process.
///
/// Without it a signal kills the process where it stands and leaves its temporary files.
#[cfg(feature = "cli")]
pub fn remove_on_signal() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        #[cfg(unix)]
        {
            use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
            // HUP: the terminal closed or the ssh session dropped; QUIT: Ctrl-\\.
            let Ok(mut signals) =
                signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP, SIGQUIT])
            else {
                return;
            };
            std::thread::spawn(move || {
                if let Some(signal) = signals.forever().next() {
                    // Keep the lock until exit: no temporary file is created or renamed after
                    // the sweep.
                    let set = live();
                    for path in set.iter() {
                        let _ = std::fs::remove_file(path);
                    }
                    std::process::exit(128 + signal);
                }
            });
        }
    });
}

/// Whether process `pid` is still running. Where that cannot be told (no `/proc`), the answer
/// is yes, so that nothing of a live run is ever removed.
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc_root = Path::new("/proc");
    if !proc_root.join("self").exists() {
        return true;
    }
    proc_root.join(pid.to_string()).exists()
}

/// The process id in a temporary file's name `.<name>.<tmp|part>-<pid>`, if it is one.
fn owner_pid(file_name: &str) -> Option<u32> {
    if !file_name.starts_with('.') {
        return None;
    }
    let (stem, pid) = file_name.rsplit_once('-')?;
    let pid: u32 = pid.parse().ok()?;
    (stem.ends_with(".tmp") || stem.ends_with(".part")).then_some(pid)
}

/// Removes from `directory` the temporary files (`.<name>.tmp-<pid>`, `.<name>.part-<pid>`)
/// left by processes that no longer run, and returns their paths. Unreadable directories and
/// files that cannot be removed are passed over: this is housekeeping, never a reason to fail.
pub fn remove_stale(directory: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(owner_pid) else {
            continue;
        };
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_file && !process_alive(pid) && std::fs::remove_file(entry.path()).is_ok() {
            removed.push(entry.path());
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persist_new_never_replaces() {
        let dir = std::env::temp_dir().join(format!("twostage-persist-new-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let destination = dir.join("file");
        std::fs::write(&destination, b"the user's").unwrap();
        let (temp, _) = TempFile::create(dir.join(".file.part-1")).unwrap();
        let error = temp.persist_new(&destination).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&destination).unwrap(), b"the user's");
        assert!(
            !dir.join(".file.part-1").exists(),
            "the temporary file is removed on drop"
        );
        let (temp, _) = TempFile::create(dir.join(".new.part-1")).unwrap();
        temp.persist_new(&dir.join("new")).unwrap();
        assert!(dir.join("new").exists() && !dir.join(".new.part-1").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn owner_pid_reads_only_our_names() {
        assert_eq!(owner_pid(".model.safetensors.tmp-123"), Some(123));
        assert_eq!(owner_pid(".t10k-labels-idx1-ubyte.gz.part-9"), Some(9));
        assert_eq!(owner_pid("model.safetensors.tmp-123"), None);
        assert_eq!(owner_pid(".notes-123"), None);
        assert_eq!(owner_pid(".model.tmp-12x"), None);
    }

    #[test]
    fn sibling_refuses_directory_names() {
        assert_eq!(sibling(Path::new("newdir/"), Kind::Write), None);
        assert_eq!(sibling(Path::new(".."), Kind::Write), None);
        let pid = std::process::id();
        assert_eq!(
            sibling(Path::new("m.safetensors"), Kind::Write),
            Some(PathBuf::from(format!("./.m.safetensors.tmp-{pid}")))
        );
    }

    #[test]
    fn temporary_names_of_long_names_fit_and_differ() {
        let long = "é".repeat(126);
        let first = temporary_name(&long, Kind::Write);
        let second = temporary_name(&long, Kind::Download);
        let third = temporary_name(&long, Kind::Write);
        for name in [&first, &second, &third] {
            assert!(name.len() <= NAME_MAX, "{} bytes: {name}", name.len());
            assert!(owner_pid(name).is_some(), "swept when stale: {name}");
        }
        assert_ne!(first, third);
    }
}
