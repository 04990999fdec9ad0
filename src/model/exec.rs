//! What `docker run` does with an image, step by step, as the runtime and the kernel do it:
//! argv is Entrypoint + Cmd; the runtime finds argv[0] on the config's PATH (Go's
//! `exec.LookPath`: the first regular file with an execute bit) from WorkingDir; the kernel's
//! `execve` then opens the file, runs `#!` scripts through their interpreter (one optional
//! argument, at most four levels) and ELF programs through their `PT_INTERP` loader, which must
//! exist and be an ELF file for the same machine. Programs that start another program are
//! followed too: `env` (with `-S`, assignments and options), shells (`-c` commands, scripts
//! whose last command runs a program or `exec "$@"`), and the init wrappers tini, dumb-init,
//! gosu and su-exec.
//!
//! The chain is the same on every host; which of its programs a host can run is judged in
//! [`crate::model::diagnose`].

use super::binary::{BinaryFormat, BinaryId, Interp, identify};
use super::manifest::ImageConfig;
use super::rootfs::{Need, Node, Resolved, Rootfs};

/// The PATH a runtime uses when the config sets none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// The kernel's limit on nested `#!` interpreters (`BINPRM_MAX_RECURSION` + 1 levels).
const MAX_SCRIPT_DEPTH: usize = 5;
/// Programs followed before giving up.
const MAX_STEPS: usize = 24;

/// How the container starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    pub argv: Vec<String>,
    pub path: Vec<String>,
    pub cwd: String,
    pub windows: bool,
}

impl Start {
    /// From an image config: `None` when it names no command.
    pub fn from_config(config: &ImageConfig) -> Option<Start> {
        let argv: Vec<String> = config.entrypoint.iter().chain(config.cmd.iter()).cloned().collect();
        argv.first()?;
        let windows = config.platform.os == "windows";
        let path = match config.env.iter().find_map(|e| e.strip_prefix("PATH=")) {
            Some(p) => split_path(p),
            None if windows => Vec::new(),
            None => split_path(DEFAULT_PATH),
        };
        let cwd = config.working_dir.clone().filter(|d| !d.is_empty()).unwrap_or_else(|| "/".into());
        Some(Start { argv, path, cwd, windows })
    }
}

fn split_path(p: &str) -> Vec<String> {
    // An empty element means the working directory, as for execvp.
    p.split(':').map(|d| if d.is_empty() { ".".to_string() } else { d.to_string() }).collect()
}

/// One program in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// How control reached it: `entrypoint`, `#! of /entrypoint.sh`, `env`, `sh -c`, …
    pub how: String,
    /// The name it was started by.
    pub name: String,
    /// Its real path, links followed.
    pub path: String,
    pub id: BinaryId,
    /// Its program loader (`PT_INTERP`), for a dynamically linked ELF program.
    pub loader: Option<Loader>,
    /// Links followed to reach it.
    pub links: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loader {
    pub name: String,
    pub path: String,
    pub id: BinaryId,
}

/// How the chain ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// Followed to the program that does the work.
    Complete,
    /// The runtime or the kernel refuses to start it: the container cannot start.
    Refused { at: String, error: String, message: String, fix: String },
    /// It cannot be followed further: why.
    Unknown { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    pub steps: Vec<Step>,
    pub end: End,
}

impl Chain {
    /// The program that does the work: the last ELF or PE program.
    pub fn program(&self) -> Option<&Step> {
        self.steps.iter().rev().find(|s| matches!(s.id.format, BinaryFormat::Elf | BinaryFormat::Pe | BinaryFormat::Macho))
    }
}

/// Follow the chain of `start` in `fs`; `Err` names the layer read the answer needs.
pub fn follow(fs: &Rootfs, start: &Start) -> Result<Chain, Need> {
    let mut w = Walker { fs, cwd: start.cwd.clone(), steps: Vec::new() };
    let end = if start.windows { w.windows(start)? } else { w.runtime(start)? };
    Ok(Chain { steps: w.steps, end })
}

struct Walker<'a> {
    fs: &'a Rootfs,
    cwd: String,
    steps: Vec<Step>,
}

fn refused(at: &str, error: &str, message: String, fix: &str) -> End {
    End::Refused { at: at.to_string(), error: error.to_string(), message, fix: fix.to_string() }
}

fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

const SHELLS: &[&str] = &["sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "hush"];

impl Walker<'_> {
    /// The runtime: argv[0] found as Go's `exec.LookPath` finds it, then `execve`.
    fn runtime(&mut self, start: &Start) -> Result<End, Need> {
        let name = start.argv.first().cloned().unwrap_or_default();
        self.execvp(&name, start.argv.clone(), &start.path, "entrypoint")
    }

    /// `execvp`: a name with a slash as it is, else the first executable regular file on PATH.
    fn execvp(&mut self, name: &str, argv: Vec<String>, path: &[String], how: &str) -> Result<End, Need> {
        if name.is_empty() {
            return Ok(refused("", "no such file or directory", "the command is an empty string".into(), "set Entrypoint or Cmd to the program to run"));
        }
        if name.contains('/') {
            return self.execve(name, argv, how, path, 0);
        }
        for dir in path {
            let candidate = if dir.ends_with('/') { format!("{dir}{name}") } else { format!("{dir}/{name}") };
            if let Ok(r) = self.fs.walk(&candidate, &self.cwd, true)?
                && let Node::File { mode, .. } = r.node
                && mode & 0o111 != 0
            {
                return self.execve(&candidate, argv, how, path, 0);
            }
        }
        Ok(refused(
            name,
            "executable file not found in $PATH",
            format!("`{name}` is not an executable file in any PATH directory ({})", path.join(":")),
            "install the program in the image, or name it by its full path",
        ))
    }

    /// `execve(filename, argv)` as the kernel runs it.
    fn execve(&mut self, filename: &str, argv: Vec<String>, how: &str, path: &[String], depth: usize) -> Result<End, Need> {
        if self.steps.len() >= MAX_STEPS {
            return Ok(End::Unknown { reason: format!("gave up after following {MAX_STEPS} programs") });
        }
        let r = match self.fs.walk(filename, &self.cwd, true)? {
            Ok(r) => r,
            Err(e) => {
                let why = match &e {
                    super::rootfs::WalkError::NotFound { path } if path == filename => "it is in no layer of the image".to_string(),
                    super::rootfs::WalkError::NotFound { path } => format!("{path} is in no layer of the image"),
                    super::rootfs::WalkError::NotDir { path } => format!("{path} is not a directory"),
                    super::rootfs::WalkError::Loop { path } => format!("the links at {path} loop"),
                    super::rootfs::WalkError::TooLong => "the path is longer than the kernel walks".to_string(),
                };
                return Ok(refused(
                    filename,
                    e.errno(),
                    format!("{filename}: {}: {why}", e.errno()),
                    "add the program to the image, or fix the path in Entrypoint/Cmd",
                ));
            }
        };
        if let Some(end) = not_executable(filename, &r) {
            return Ok(end);
        }
        let id = identify(self.fs.head(&r)?);
        let step = Step { how: how.to_string(), name: filename.to_string(), path: r.path.clone(), id: id.clone(), loader: None, links: r.links.clone() };
        if let Some((problem, fix)) = &id.problem {
            self.steps.push(step);
            let error = if problem.contains("no such file") { "no such file or directory" } else { "exec format error" };
            return Ok(refused(&r.path, error, format!("{}: {problem}", r.path), fix));
        }
        match id.format {
            BinaryFormat::Script => {
                self.steps.push(step);
                if depth + 1 >= MAX_SCRIPT_DEPTH {
                    return Ok(refused(
                        &r.path,
                        "too many levels of symbolic links",
                        format!("{}: #! interpreters nest deeper than the kernel allows", r.path),
                        "start the program directly",
                    ));
                }
                let Some((interp, arg)) = id.interpreter.clone() else {
                    return Ok(refused(
                        &r.path,
                        "exec format error",
                        format!("{}: its #! line names no interpreter", r.path),
                        "write the interpreter after #!",
                    ));
                };
                let mut next = vec![interp.clone()];
                next.extend(arg);
                next.push(filename.to_string());
                next.extend(argv.into_iter().skip(1));
                self.execve(&interp, next, &format!("#! of {}", r.path), path, depth + 1)
            }
            BinaryFormat::Elf => {
                let elf = id.elf.clone();
                let loadable = elf.as_ref().is_some_and(|e| e.is_loadable());
                if !loadable {
                    self.steps.push(step);
                    return Ok(refused(
                        &r.path,
                        "exec format error",
                        format!("{}: an ELF file that is not an executable ({})", r.path, id.description),
                        "start a program, not an object file or library",
                    ));
                }
                let mut step = step;
                if let Some(Interp::Path(p)) = elf.as_ref().map(|e| &e.interp) {
                    match self.loader(&r.path, &id, p)? {
                        Ok(l) => step.loader = Some(l),
                        Err(end) => {
                            self.steps.push(step);
                            return Ok(end);
                        }
                    }
                }
                if let Some(Interp::Unreadable) = elf.as_ref().map(|e| &e.interp) {
                    // The program headers lie past the bytes kept: read more of the file once.
                    if let (Node::File { size, .. }, Ok(head)) = (&r.node, self.fs.head(&r))
                        && (head.len() as u64) < *size
                        && head.len() < (64 << 10)
                    {
                        return Err(Need::Head { n: r.layer, path: r.path.trim_start_matches('/').to_string() });
                    }
                    self.steps.push(step);
                    return Ok(End::Unknown { reason: format!("{}: its program headers lie beyond the bytes read, so its loader is unchecked", r.path) });
                }
                self.steps.push(step);
                self.behave(argv, &r.path, path)
            }
            _ => {
                self.steps.push(step);
                Ok(refused(
                    &r.path,
                    "exec format error",
                    format!("{}: the kernel runs ELF programs and #! scripts; this is {}", r.path, id.description),
                    "start a Linux program built for the image's platform",
                ))
            }
        }
    }

    /// The kernel opens the loader an ELF program names and checks it is an ELF file for the
    /// same machine; `Err` is how the start fails.
    fn loader(&mut self, program: &str, id: &BinaryId, name: &str) -> Result<Result<Loader, End>, Need> {
        const FIX: &str = "build the program statically (CGO_ENABLED=0, -static, musl), or use a base image with the C library it was linked against (glibc programs do not run on Alpine's musl, nor FROM scratch)";
        let r = match self.fs.walk(name, &self.cwd, true)? {
            Ok(r) => r,
            Err(e) => {
                let at = if e.path() == name { String::new() } else { format!(" ({} at {})", e.errno(), e.path()) };
                return Ok(Err(refused(
                    name,
                    "no such file or directory",
                    format!("{program} needs the program loader {name}, which is not in the image{at}: the kernel fails with \"no such file or directory\""),
                    FIX,
                )));
            }
        };
        if let Some(end) = not_executable(name, &r) {
            return Ok(Err(end));
        }
        let lid = identify(self.fs.head(&r)?);
        let (Some(pe), Some(le)) = (&id.elf, &lid.elf) else {
            return Ok(Err(refused(
                name,
                "accessing a corrupted shared library",
                format!("{program} needs the program loader {name} ({}), which is not an ELF file", r.path),
                FIX,
            )));
        };
        if (pe.machine, pe.class, pe.little_endian) != (le.machine, le.class, le.little_endian) {
            return Ok(Err(refused(
                name,
                "accessing a corrupted shared library",
                format!(
                    "{program} ({}) needs the program loader {name}, which is built for {}: the kernel refuses a loader of another architecture (ELIBBAD)",
                    id.architecture.as_deref().unwrap_or("?"),
                    lid.architecture.as_deref().unwrap_or("another machine")
                ),
                FIX,
            )));
        }
        if let (Some(a), Some(b)) = (pe.arm_float(), le.arm_float())
            && a != b
        {
            let ((abi, debian), (loader_abi, loader_debian)) = (a.names(), b.names());
            return Ok(Err(refused(
                name,
                "wrong float ABI",
                format!(
                    "{program} is built for the {abi} ({debian}) float ABI but its loader {name} for the {loader_abi} ({loader_debian}): the two do not mix, and the program dies before it runs (SIGFPE under qemu-arm)"
                ),
                "use a base image of the same Debian architecture (armhf or armel) as the program",
            )));
        }
        Ok(Ok(Loader { name: name.to_string(), path: r.path, id: lid }))
    }

    /// What a program that has started does next, by the name it was started as.
    fn behave(&mut self, argv: Vec<String>, real: &str, path: &[String]) -> Result<End, Need> {
        let mut argv = argv;
        let mut name = basename(argv.first().map(String::as_str).unwrap_or("")).to_string();
        if name == "busybox" && argv.len() > 1 {
            argv.remove(0);
            name = basename(argv.first().map(String::as_str).unwrap_or("")).to_string();
        }
        if SHELLS.contains(&name.as_str()) {
            return self.shell(&name, argv, path);
        }
        let rest: Vec<String> = argv.iter().skip(1).cloned().collect();
        match name.as_str() {
            "env" => self.env(rest, real, path),
            n if n == "tini" || n.starts_with("tini-") => self.wrapper(n, skip_options(&rest, &["-p", "-e"]), path),
            "dumb-init" => self.wrapper("dumb-init", skip_options(&rest, &["-r", "--rewrite"]), path),
            "gosu" | "su-exec" => self.wrapper(&name, rest.into_iter().skip(1).collect(), path),
            _ => Ok(End::Complete),
        }
    }

    fn wrapper(&mut self, name: &str, program: Vec<String>, path: &[String]) -> Result<End, Need> {
        match program.first().cloned() {
            Some(p) => self.execvp(&p, program, path, name),
            None => Ok(End::Unknown { reason: format!("{name} is given no program to start") }),
        }
    }

    /// `env [OPTION]... [NAME=VALUE]... [PROGRAM [ARG]...]`, as coreutils runs it.
    fn env(&mut self, args: Vec<String>, real: &str, path: &[String]) -> Result<End, Need> {
        let mut args: std::collections::VecDeque<String> = args.into();
        let mut path = path.to_vec();
        let busybox = basename(real) == "busybox";
        while let Some(a) = args.pop_front() {
            if a == "--" {
                break;
            }
            let split = a.strip_prefix("--split-string=").map(str::to_string).or_else(|| a.strip_prefix("-S").map(str::to_string));
            if let Some(value) = split {
                if busybox {
                    return Ok(refused(
                        real,
                        "invalid option",
                        format!("{real} is BusyBox's env, which has no -S option: it stops with \"invalid option -- 'S'\""),
                        "install coreutils' env, or name the interpreter and its options in the #! line without env",
                    ));
                }
                let value = if value.is_empty() { args.pop_front().unwrap_or_default() } else { value };
                match split_string(&value) {
                    Ok(words) => {
                        for w in words.into_iter().rev() {
                            args.push_front(w);
                        }
                    }
                    Err(why) => return Ok(End::Unknown { reason: format!("env -S {value:?}: {why}") }),
                }
                continue;
            }
            match a.as_str() {
                "-i" | "--ignore-environment" | "-" => path = split_path("/bin:/usr/bin"),
                "-0" | "--null" | "-v" | "--debug" => {}
                "-u" | "--unset" => {
                    if args.pop_front().as_deref() == Some("PATH") {
                        path = split_path("/bin:/usr/bin");
                    }
                }
                "-C" | "--chdir" => {
                    let dir = args.pop_front().unwrap_or_default();
                    self.cwd = if dir.starts_with('/') { dir } else { format!("{}/{dir}", self.cwd) };
                }
                o if o.starts_with('-') && o.len() > 1 => return Ok(End::Unknown { reason: format!("env option {o} is not followed") }),
                kv if kv.contains('=') => {
                    if let Some(p) = kv.strip_prefix("PATH=") {
                        path = split_path(p);
                    }
                }
                _ => {
                    args.push_front(a);
                    break;
                }
            }
        }
        let program: Vec<String> = args.into();
        match program.first().cloned() {
            // With no program, env prints the environment: it is the program.
            None => Ok(End::Complete),
            Some(p) => self.execvp(&p, program, &path, "env"),
        }
    }

    /// A shell: `-c COMMAND`, a script file, or nothing to run but itself.
    fn shell(&mut self, name: &str, argv: Vec<String>, path: &[String]) -> Result<End, Need> {
        let mut i = 1;
        let mut command = false;
        while let Some(a) = argv.get(i) {
            if a == "--" {
                i += 1;
                break;
            }
            if (a.starts_with('-') || a.starts_with('+')) && a.len() > 1 {
                if !a.starts_with("--") && a.contains('c') {
                    command = true;
                }
                if a == "-o" || a == "+o" {
                    i += 1;
                }
                i += 1;
                continue;
            }
            break;
        }
        let rest: Vec<String> = argv.iter().skip(i + 1).cloned().collect();
        match (command, argv.get(i).cloned()) {
            // `sh -c COMMAND NAME ARGS…`: NAME is $0, ARGS are "$@".
            (true, Some(c)) => {
                let positional: Vec<String> = argv.iter().skip(i + 2).cloned().collect();
                self.command(&c, &positional, path, &format!("{name} -c"), None)
            }
            (true, None) => Ok(refused(name, "option requires an argument", format!("{name} -c is given no command"), "give the command after -c")),
            (false, Some(script)) => self.script(name, &script, rest, path),
            (false, None) => Ok(End::Complete),
        }
    }

    /// A shell reading the script `file` with arguments `args`: where does control go?
    fn script(&mut self, shell: &str, file: &str, args: Vec<String>, path: &[String]) -> Result<End, Need> {
        let r = match self.fs.walk(file, &self.cwd, true)? {
            Ok(r) => r,
            Err(e) => return Ok(refused(file, e.errno(), format!("{shell} cannot open the script {file}: {}", e.errno()), "add the script to the image")),
        };
        let (text, size) = match &r.node {
            Node::File { size, .. } => (self.fs.head(&r)?, *size),
            _ => {
                return Ok(refused(
                    file,
                    "permission denied",
                    format!("{shell} cannot read the script {file}: it is not a regular file"),
                    "add the script to the image",
                ));
            }
        };
        if (text.len() as u64) < size {
            return Ok(End::Unknown {
                reason: format!("{}: the script is longer than the part Archlens keeps ({} bytes), so where it goes is not followed", r.path, text.len()),
            });
        }
        let text = String::from_utf8_lossy(text).into_owned();
        match last_command(&text) {
            Some(line) => {
                let rewrites = text.lines().any(|l| l.trim_start().starts_with("set --") || l.contains(" set -- "));
                if rewrites && args.first().is_some_and(|a| a.starts_with('-')) {
                    return Ok(End::Unknown {
                        reason: format!(
                            "{} rewrites its arguments with `set --` when the first starts with `-` (here {:?}), so the program it runs is not followed",
                            r.path,
                            args.first().cloned().unwrap_or_default()
                        ),
                    });
                }
                self.command(&line, &args, path, &format!("last command of {}", r.path), Some((&r.path, &shell_functions(&text))))
            }
            None => Ok(End::Unknown { reason: format!("{}: no command found in the script", r.path) }),
        }
    }

    /// A shell command line: the first program it starts, with `"$@"` standing for `args`;
    /// `cd` moves the working directory for what follows, other builtins run in the shell.
    /// `script`: the script it ends and the functions that script defines (a call of one is
    /// not a program).
    fn command(&mut self, line: &str, args: &[String], path: &[String], how: &str, script: Option<(&str, &[String])>) -> Result<End, Need> {
        let shown = script.map(|(s, _)| format!("{s}'s last command `{line}`")).unwrap_or_else(|| format!("the command `{line}`"));
        let unknown = |why: String| Ok(End::Unknown { reason: format!("{shown}: {why}, so the program it starts is not followed") });
        let commands = match simple_commands(line) {
            Ok(c) => c,
            Err(why) => return unknown(why),
        };
        for simple in commands {
            let words = match command_words(&simple, args) {
                Ok(w) => w,
                Err(why) => return unknown(why),
            };
            let Some(first) = words.first().cloned() else {
                if simple.contains("$@") {
                    return Ok(End::Unknown { reason: format!("{shown} runs the container's arguments, and there are none") });
                }
                continue;
            };
            if first == "cd" {
                let dir = words.get(1).cloned().unwrap_or_else(|| "/".into());
                self.cwd = if dir.starts_with('/') { dir } else { format!("{}/{dir}", self.cwd) };
                continue;
            }
            if BUILTINS.contains(&first.as_str()) {
                continue;
            }
            if script.is_some_and(|(_, functions)| functions.contains(&first)) {
                return Ok(End::Unknown { reason: format!("{shown} calls the script's own function `{first}`, which is not followed") });
            }
            return self.execvp(&first, words, path, how);
        }
        // Only builtins: the shell itself is the program.
        Ok(End::Complete)
    }

    /// Windows: the program under `Files/`, found on the system directories.
    fn windows(&mut self, start: &Start) -> Result<End, Need> {
        let first = start.argv.first().cloned().unwrap_or_default();
        let rest = first.strip_prefix("C:").or_else(|| first.strip_prefix("c:")).unwrap_or(&first).replace('\\', "/");
        let candidates: Vec<String> = if rest.starts_with('/') {
            vec![format!("/Files{rest}")]
        } else {
            let name = if rest.contains('.') { rest.clone() } else { format!("{rest}.exe") };
            let mut dirs: Vec<String> = start.path.iter().map(|d| d.strip_prefix("C:").unwrap_or(d).replace('\\', "/")).map(|d| format!("/Files{d}")).collect();
            dirs.extend(["/Files/Windows/System32".to_string(), "/Files/Windows".to_string()]);
            dirs.into_iter().map(|d| format!("{d}/{name}")).collect()
        };
        for c in &candidates {
            if let Ok(r) = self.fs.walk(c, "/", true)?
                && matches!(r.node, Node::File { .. })
            {
                let id = identify(self.fs.head(&r)?);
                self.steps.push(Step { how: "entrypoint".into(), name: first.clone(), path: r.path.clone(), id, loader: None, links: r.links });
                return Ok(End::Complete);
            }
        }
        Ok(refused(
            &first,
            "file not found",
            format!("{first} is in no layer of the image (looked for {})", candidates.join(", ")),
            "add the program to the image",
        ))
    }
}

/// EACCES for what is no executable regular file.
fn not_executable(name: &str, r: &Resolved) -> Option<End> {
    let why = match &r.node {
        Node::File { mode, .. } if mode & 0o111 == 0 => format!("it has no execute permission (mode {:o})", mode & 0o7777),
        Node::File { .. } => return None,
        Node::Dir => "it is a directory".to_string(),
        _ => "it is not a regular file".to_string(),
    };
    Some(refused(
        name,
        "permission denied",
        format!("{name} ({}): {why}, so the kernel refuses it with \"permission denied\"", r.path),
        "make it an executable file (chmod +x) in the image",
    ))
}

/// Skip a wrapper's options (`takes_value` ones take the next word); what follows is the
/// program and its arguments.
fn skip_options(args: &[String], takes_value: &[&str]) -> Vec<String> {
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if a == "--" {
            i += 1;
            break;
        }
        if !a.starts_with('-') || a.len() < 2 {
            break;
        }
        i += if takes_value.contains(&a.as_str()) { 2 } else { 1 };
    }
    args.iter().skip(i).cloned().collect()
}

/// `env -S`'s splitting: words separated by spaces and tabs, single and double quotes, and
/// backslash escapes; `${VAR}` is not followed.
fn split_string(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, ' ' | '\t' | '\n') => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None | Some('"'), '\\') => {
                in_word = true;
                match chars.next() {
                    Some('t') => cur.push('\t'),
                    Some('n') => cur.push('\n'),
                    Some('_') => {
                        words.push(std::mem::take(&mut cur));
                        in_word = false;
                    }
                    Some(o) => cur.push(o),
                    None => return Err("it ends with a backslash".into()),
                }
            }
            (_, '$') if quote != Some('\'') => return Err("it expands a variable".into()),
            (None, '#') if !in_word => break,
            (_, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("a quote is not closed".into());
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// The last command a script runs at its top level: the last line that is not blank, a
/// comment, or the end of a block (`fi`, `done`, `esac`, `}`).
fn last_command(text: &str) -> Option<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut joined = String::new();
    for raw in text.lines() {
        if let Some(cont) = raw.strip_suffix('\\') {
            joined.push_str(cont);
            joined.push(' ');
            continue;
        }
        joined.push_str(raw);
        lines.push(std::mem::take(&mut joined));
    }
    if !joined.is_empty() {
        lines.push(joined);
    }
    // The #! line is the kernel's, not a command (a script run as `sh FILE` may have none).
    let skip = usize::from(lines.first().is_some_and(|l| l.starts_with("#!")));
    lines.into_iter().skip(skip).rev().map(|l| l.trim().to_string()).find(|l| {
        !(l.is_empty() || l.starts_with('#') || matches!(l.as_str(), "fi" | "done" | "esac" | "}" | ";;" | "wait" | "exit" | "exit 0" | "then" | "else" | "do"))
    })
}

/// Shell builtins: they run inside the shell, no program is started. (`.` and `source` read a
/// file into the shell: what it sets, a PATH among them, is not followed.)
const BUILTINS: &[&str] = &[
    "set", "echo", "printf", "export", "test", "[", "true", "false", ":", "ulimit", "umask", "wait", "read", "shift", "exit", "return", "local", "unset",
    "trap", "alias", "type", "hash", "getopts", "readonly", "times", "command", ".", "source",
];

/// The names of the functions a shell script defines (`name() {`, `function name {`).
fn shell_functions(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let (keyword, l) = match l.strip_prefix("function ") {
                Some(rest) => (true, rest.trim_start()),
                None => (false, l),
            };
            let name: String = l.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-').collect();
            let rest = l.get(name.len()..)?.trim_start();
            (!name.is_empty() && (rest.starts_with("()") || (keyword && rest.starts_with('{')))).then_some(name)
        })
        .collect()
}

/// The simple commands of a command line, in order (split at `;`, `&&`, `||`, `|` and `&`);
/// `Err` for what is not followed: compound commands, substitutions, `eval` and `source`.
fn simple_commands(line: &str) -> Result<Vec<String>, String> {
    if line.contains("$(") || line.contains('`') {
        return Err("it runs a command substitution".into());
    }
    let mut out = Vec::new();
    for piece in line.split(['&', '|', ';', '\n']) {
        let piece = piece.trim();
        if piece.is_empty() {
            continue;
        }
        let first = piece.split_whitespace().next().unwrap_or("");
        if matches!(
            first,
            "if" | "then"
                | "else"
                | "elif"
                | "fi"
                | "for"
                | "while"
                | "until"
                | "do"
                | "done"
                | "case"
                | "esac"
                | "{"
                | "}"
                | "("
                | "[["
                | "!"
                | "function"
                | "eval"
        ) || first.starts_with('(')
        {
            return Err(format!("`{first}` starts a compound or indirect command"));
        }
        out.push(piece.to_string());
    }
    Ok(out)
}

/// The words of one simple command: leading assignments and `exec` dropped, `"$@"` replaced
/// by `args`; `Err` when the program word is expanded by the shell.
fn command_words(simple: &str, args: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut program_seen = false;
    for w in simple.split_whitespace() {
        let all_args = matches!(w, "\"$@\"" | "$@" | "\"${@}\"" | "${@}");
        if !program_seen {
            if w == "exec" || (w.contains('=') && !w.starts_with('=') && !w.contains('/') && !w.starts_with('"') && !w.starts_with('$')) {
                continue;
            }
            if all_args {
                out.extend(args.iter().cloned());
                program_seen = true;
                continue;
            }
            if w.contains(['$', '`', '"', '\'', '*', '?', '~', '(', ')', '<', '>']) {
                return Err(format!("`{w}` is expanded by the shell"));
            }
            program_seen = true;
            out.push(w.to_string());
            continue;
        }
        if all_args {
            out.extend(args.iter().cloned());
        } else if w.starts_with('<') || w.starts_with('>') || w.starts_with("2>") {
            break;
        } else {
            out.push(w.trim_matches('"').to_string());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_split_string() {
        assert_eq!(split_string(" python3 -u").unwrap(), vec!["python3", "-u"]);
        assert_eq!(split_string("perl -w -T").unwrap(), vec!["perl", "-w", "-T"]);
        assert_eq!(split_string("sh -c 'echo a b'").unwrap(), vec!["sh", "-c", "echo a b"]);
        assert!(split_string("a ${X}").is_err());
    }

    #[test]
    fn last_commands_of_scripts() {
        let s = "#!/bin/sh\nset -e\nif [ \"$1\" = x ]; then\n  exec /app/x\nfi\n\n# run it\nexec \"$@\"\n";
        assert_eq!(last_command(s).as_deref(), Some("exec \"$@\""));
        assert_eq!(last_command("#!/bin/sh\n/app/setup\n/app/server --port 80 \\\n  --x\n").as_deref(), Some("/app/server --port 80    --x"));
        assert_eq!(last_command("#!/bin/sh\n"), None);
        assert_eq!(last_command("exec /app/server\n").as_deref(), Some("exec /app/server"), "a script without #! (run as `sh FILE`)");
    }

    #[test]
    fn shell_command_lines() {
        let args = vec!["postgres".to_string(), "-c".to_string()];
        assert_eq!(command_words("exec \"$@\"", &args).unwrap(), args);
        assert_eq!(command_words("exec gosu app \"$@\"", &args).unwrap(), vec!["gosu", "app", "postgres", "-c"]);
        assert_eq!(command_words("A=1 exec /opt/app --x", &[]).unwrap(), vec!["/opt/app", "--x"]);
        assert!(command_words("exec \"$BIN\"", &[]).unwrap_err().contains("expanded"));
        assert_eq!(simple_commands("cd /srv && ./app --x; echo done").unwrap(), vec!["cd /srv", "./app --x", "echo done"]);
        assert!(simple_commands("if [ -x /a ]; then /a; fi").is_err());
        assert!(simple_commands("exec $(which app)").is_err());
    }

    #[test]
    fn script_functions_are_not_taken_for_programs() {
        let mysql = "#!/bin/bash\n_main() {\n  exec \"$@\"\n}\nfunction _is_sourced {\n  false\n}\nif ! _is_sourced; then\n\t_main \"$@\"\nfi\n";
        assert_eq!(shell_functions(mysql), vec!["_main", "_is_sourced"]);
        assert_eq!(last_command(mysql).as_deref(), Some("_main \"$@\""));
        assert!(shell_functions("#!/bin/sh\nexec app\n").is_empty());
        // `. venv/bin/activate && exec python app.py`: the sourcing runs in the shell.
        let cmds = simple_commands(". /venv/bin/activate && exec python app.py").unwrap();
        assert_eq!(command_words(&cmds[1], &[]).unwrap(), vec!["python", "app.py"]);
    }

    #[test]
    fn sh_c_passes_its_positional_arguments() {
        assert_eq!(command_words("exec \"$@\"", &["app".into(), "-x".into()]).unwrap(), vec!["app", "-x"]);
    }

    #[test]
    fn wrapper_options() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(skip_options(&v(&["-s", "-p", "SIGTERM", "--", "app", "-x"]), &["-p", "-e"]), v(&["app", "-x"]));
        assert_eq!(skip_options(&v(&["app"]), &[]), v(&["app"]));
        assert_eq!(skip_options(&v(&["-r", "15:2", "app"]), &["-r"]), v(&["app"]));
    }
}
