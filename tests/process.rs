//! Child processes (issue 14, item 2): echo, cat through stdin, exit codes,
//! 200 children at once with no descriptor or zombie left, a child killed
//! mid-read, 64 MiB of stdout while stdin is still written, the errors, and
//! the SIGCHLD fallback.

mod util;

use std::io::ErrorKind;
use std::time::Duration;

use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use kiwi::process::{Command, Stdio};
use util::rt::with_deadline;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Children of this process that are zombies (exited, not reaped).
fn zombies() -> usize {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("stat")).ok())
        .filter(|stat| {
            // pid (comm) state ppid ...: the fields after the comm's ')'.
            let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
            let mut f = rest.split_whitespace();
            f.next() == Some("Z") && f.next() == Some(me.as_str())
        })
        .count()
}

#[test]
fn echo_cat_and_exit_codes() {
    with_deadline(30, || {
        kiwi::block_on(async {
            let out = Command::new("echo")
                .args(["hello", "kiwi"])
                .output()
                .await
                .unwrap();
            assert!(out.status.success());
            assert_eq!(out.stdout, b"hello kiwi\n");

            let mut cat = Command::new("cat")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdin = cat.stdin.take().unwrap();
            stdin.write_all(b"fed through stdin").await.unwrap();
            drop(stdin);
            let mut text = String::new();
            cat.stdout
                .take()
                .unwrap()
                .read_to_string(&mut text)
                .await
                .unwrap();
            assert_eq!(text, "fed through stdin");
            assert!(cat.wait().await.unwrap().success());

            let status = Command::new("sh")
                .args(["-c", "exit 3"])
                .status()
                .await
                .unwrap();
            assert_eq!(status.code(), Some(3));
            let err = Command::new("sh")
                .args(["-c", "echo oops >&2; exit 1"])
                .output()
                .await
                .unwrap();
            assert_eq!(err.stderr, b"oops\n");
            assert_eq!(err.status.code(), Some(1));
        });
    });
}

#[test]
fn errors_are_clear() {
    with_deadline(30, || {
        kiwi::block_on(async {
            let missing = Command::new("kiwi-no-such-program").spawn().unwrap_err();
            assert_eq!(missing.kind(), ErrorKind::NotFound);
            assert!(
                missing.to_string().contains("kiwi-no-such-program"),
                "{missing}"
            );
            let bad_dir = Command::new("true")
                .current_dir("/kiwi/no/such/dir")
                .spawn()
                .unwrap_err();
            assert_eq!(bad_dir.kind(), ErrorKind::NotFound, "{bad_dir}");

            // Writing to a child that closed its stdin: BrokenPipe, no SIGPIPE.
            let mut child = Command::new("true").stdin(Stdio::piped()).spawn().unwrap();
            let mut stdin = child.stdin.take().unwrap();
            child.wait().await.unwrap();
            let mut res = Ok(());
            for _ in 0..100 {
                res = stdin.write_all(&[0u8; 65536]).await;
                if res.is_err() {
                    break;
                }
            }
            assert_eq!(res.unwrap_err().kind(), ErrorKind::BrokenPipe);
        });
    });
}

/// Counting descriptors and zombies needs a process of its own: `cargo test`
/// runs the other tests on threads of this one, with their own pipes and
/// children. So the test runs this binary again, alone, with `KIWI_ALONE` set.
fn alone(test: &str, body: impl FnOnce()) {
    if std::env::var_os("KIWI_ALONE").is_some() {
        return body();
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--test-threads", "1"])
        .env("KIWI_ALONE", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("1 passed"), "{stdout}");
}

#[test]
fn two_hundred_children_leave_no_descriptor_or_zombie() {
    alone("two_hundred_children_leave_no_descriptor_or_zombie", || {
        with_deadline(60, || {
            let before = open_fds();
            let rt = kiwi::Builder::new().workers(2).build().unwrap();
            rt.block_on(async {
                let handles: Vec<_> = (0..200)
                    .map(|i| {
                        kiwi::spawn(async move {
                            let out = Command::new("sh")
                                .args(["-c", &format!("echo {i}; exit {}", i % 4)])
                                .output()
                                .await
                                .unwrap();
                            assert_eq!(out.stdout, format!("{i}\n").as_bytes());
                            assert_eq!(out.status.code(), Some(i % 4));
                        })
                    })
                    .collect();
                for h in handles {
                    h.await.unwrap();
                }
            });
            drop(rt);
            assert_eq!(zombies(), 0, "children left unreaped");
            assert!(
                open_fds() <= before,
                "descriptors leaked: {before} -> {}",
                open_fds()
            );
        });
    });
}

#[test]
fn a_child_killed_mid_read_ends_the_read_and_reports_the_kill() {
    with_deadline(30, || {
        kiwi::block_on(async {
            let mut child = Command::new("sh")
                .args(["-c", "echo started; exec sleep 60"])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdout = child.stdout.take().unwrap();
            let mut first = [0u8; 8];
            stdout.read_exact(&mut first).await.unwrap();
            assert_eq!(&first, b"started\n");
            let reader = kiwi::spawn(async move {
                let mut rest = Vec::new();
                stdout.read_to_end(&mut rest).await.map(|_| rest)
            });
            kiwi::time::sleep(Duration::from_millis(20)).await;
            let status = child.kill().await.unwrap();
            assert!(!status.success());
            assert_eq!(child.wait().await.unwrap(), status, "the cached status");
            assert_eq!(child.id(), None);
            assert_eq!(reader.await.unwrap().unwrap(), b"", "EOF after the kill");
        });
    });
}

#[test]
fn sixty_four_mib_out_while_stdin_is_written_does_not_deadlock() {
    const TOTAL: usize = 64 << 20;
    with_deadline(120, || {
        kiwi::block_on(async {
            let mut child = Command::new("cat")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdin = child.stdin.take().unwrap();
            let mut stdout = child.stdout.take().unwrap();
            let writer = kiwi::spawn(async move {
                let chunk: Vec<u8> = (0..65536u32).map(|i| (i % 251) as u8).collect();
                for _ in 0..TOTAL / chunk.len() {
                    stdin.write_all(&chunk).await.unwrap();
                }
            });
            let mut got = 0usize;
            let mut buf = vec![0u8; 1 << 16];
            let mut ok = true;
            loop {
                let n = stdout.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                for (k, b) in buf[..n].iter().enumerate() {
                    ok &= *b == (((got + k) % 65536) % 251) as u8;
                }
                got += n;
            }
            writer.await.unwrap();
            assert!(ok, "bytes changed on the way");
            assert_eq!(got, TOTAL);
            assert!(child.wait().await.unwrap().success());
        });
    });
}

#[test]
fn kill_on_drop_kills_and_dropped_children_are_reaped() {
    with_deadline(30, || {
        kiwi::block_on(async {
            let child = Command::new("sleep")
                .arg("60")
                .kill_on_drop(true)
                .spawn()
                .unwrap();
            let pid = child.id().unwrap();
            drop(child);
            // Killed, then reaped by the task the drop left behind.
            for _ in 0..500 {
                if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                    break;
                }
                kiwi::time::sleep(Duration::from_millis(2)).await;
            }
            assert!(
                !std::path::Path::new(&format!("/proc/{pid}")).exists(),
                "the child is still there (alive or a zombie)"
            );
        });
    });
}

/// Where `pidfd_open` is refused, SIGCHLD does the job: the test runs this
/// binary again with the knob that makes kiwi behave as on such a kernel.
#[test]
fn the_sigchld_fallback_works() {
    if std::env::var_os("KIWI_NO_PIDFD").is_none() {
        with_deadline(30, || {
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "the_sigchld_fallback_works"])
                .env("KIWI_NO_PIDFD", "1")
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "{stdout}");
            assert!(stdout.contains("1 passed"), "{stdout}");
        });
        return;
    }
    kiwi::block_on(async {
        for code in 0..5 {
            let status = Command::new("sh")
                .args(["-c", &format!("exit {code}")])
                .status()
                .await
                .unwrap();
            assert_eq!(status.code(), Some(code));
        }
        let child = Command::new("echo")
            .arg("fallback")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.wait_with_output().await.unwrap();
        assert_eq!(out.stdout, b"fallback\n");
    });
}
