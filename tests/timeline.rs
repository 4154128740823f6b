//! The timeline (issue 16): `Builder::trace_json` / `KIWI_TRACE=json:PATH`
//! writes Chrome trace-event JSON, and `kiwi-timeline` draws it as SVG.
//!
//! The trace is process-wide, so the tests that record one take `LOCK` and
//! share one scripted run: 2 workers, a spawn chain, a timer, a steal.
//! Every file goes under `target/`, never into the working tree.

mod util;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;
use util::examples::example;
use util::rt::with_deadline;

static LOCK: Mutex<()> = Mutex::new(());

fn lock() -> MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A fresh path in a per-process directory under `target/tmp`.
fn temp_path(name: &str) -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("timeline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn spin(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// Runs the script once on a fresh timeline; the number of steals it made.
fn run_script(path: &Path) -> u64 {
    let rt = kiwi::Builder::new()
        .workers(2)
        .trace_json(path)
        .build()
        .unwrap();
    rt.block_on(async {
        // A spawn chain: A spawns B, which spawns C.
        let c = kiwi::spawn(async {
            kiwi::spawn(async { kiwi::spawn(async { 3 }).await.unwrap() })
                .await
                .unwrap()
        });
        assert_eq!(c.await.unwrap(), 3);
        // A timer, in a task, so that its firing wakes a task.
        kiwi::spawn(async { kiwi::time::sleep(Duration::from_millis(5)).await })
            .await
            .unwrap();
        // A steal: one task queues 4 that each compute for 10 ms; the idle
        // worker is woken and takes some.
        kiwi::spawn(async {
            let hs: Vec<_> = (0..4)
                .map(|_| kiwi::spawn(async { spin(Duration::from_millis(10)) }))
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        })
        .await
        .unwrap();
    });
    let m = rt.handle().metrics();
    let steals = (0..m.num_workers()).map(|i| m.worker(i).steals()).sum();
    drop(rt);
    kiwi::runtime::trace::finish().unwrap();
    steals
}

/// The scripted run's file, parsed (made once; retried until a steal
/// happened, which a loaded machine may delay).
fn scripted() -> &'static Value {
    static JSON: OnceLock<Value> = OnceLock::new();
    JSON.get_or_init(|| {
        let path = temp_path("scripted.json");
        for _ in 0..5 {
            if run_script(&path) > 0 {
                break;
            }
        }
        let text = std::fs::read_to_string(&path).unwrap();
        serde_json::from_str(&text).expect("the timeline is valid JSON")
    })
}

fn events(v: &Value) -> &Vec<Value> {
    v["traceEvents"].as_array().expect("traceEvents")
}

fn track_names(v: &Value) -> HashMap<u64, String> {
    events(v)
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
        .map(|e| {
            let name = e["args"]["name"].as_str().unwrap().to_string();
            (e["tid"].as_u64().unwrap(), name)
        })
        .collect()
}

/// Nanoseconds from a `ts` or `dur` in µs (the file keeps three decimals).
fn ns(v: &Value) -> i64 {
    (v.as_f64().unwrap() * 1000.0).round() as i64
}

fn slices<'a>(v: &'a Value, cat: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    events(v)
        .iter()
        .filter(move |e| e["ph"] == "X" && e["cat"] == cat)
}

fn instants<'a>(v: &'a Value, cat: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    events(v)
        .iter()
        .filter(move |e| e["ph"] == "i" && e["cat"] == cat)
}

/// The slice of category `cat` on track `tid` around time `t` (ns).
fn enclosing<'a>(v: &'a Value, cat: &'a str, tid: &Value, t: i64) -> Option<&'a Value> {
    slices(v, cat)
        .find(|s| &s["tid"] == tid && ns(&s["ts"]) <= t && t <= ns(&s["ts"]) + ns(&s["dur"]))
}

#[test]
fn scripted_run_has_the_tracks_slices_steal_timer_and_flows() {
    let _g = lock();
    with_deadline(60, || {
        let v = scripted();
        assert_eq!(v["otherData"]["kiwi_dropped_events"], 0);
        let names: BTreeSet<String> = track_names(v).into_values().collect();
        let want: BTreeSet<String> = ["worker 0", "worker 1", "block_on"]
            .map(String::from)
            .into();
        assert_eq!(names, want, "one track per worker, one for block_on");
        let tracks = track_names(v);

        // A slice per poll, named by its task.
        let polls: Vec<_> = slices(v, "poll").collect();
        assert!(
            polls.len() >= 9,
            "3 chain + 1 timer + 5 steal-step polls at least"
        );
        for p in &polls {
            assert_eq!(p["name"], format!("task {}", p["args"]["task"]));
        }

        // The spawn chain: C spawned inside a poll of B, B inside a poll of A,
        // A from the root (block_on).
        let mut parent = HashMap::new();
        for s in instants(v, "spawn") {
            let t = ns(&s["ts"]);
            let by =
                enclosing(v, "poll", &s["tid"], t).map(|p| p["args"]["task"].as_u64().unwrap());
            parent.insert(s["args"]["task"].as_u64().unwrap(), by);
        }
        let depth = |mut t: u64| {
            let mut d = 0;
            while let Some(Some(p)) = parent.get(&t) {
                t = *p;
                d += 1;
            }
            d
        };
        assert!(
            parent.keys().any(|t| depth(*t) >= 2),
            "a chain of three spawns: {parent:?}"
        );

        // The steal: on one worker's track, from the other.
        let steal = instants(v, "steal").next().expect("a steal instant");
        let from = steal["args"]["from"].as_u64().unwrap();
        assert!(steal["args"]["tasks"].as_u64().unwrap() >= 1);
        let thief = &tracks[&steal["tid"].as_u64().unwrap()];
        assert!(thief.starts_with("worker "), "{thief}");
        assert_ne!(
            thief,
            &format!("worker {from}"),
            "a worker steals from a sibling"
        );

        // The timer: it fired, and its wake leads to a poll (the sleeping task).
        let fired = instants(v, "timer")
            .map(|e| e["args"]["fired"].as_u64().unwrap())
            .sum::<u64>();
        assert!(fired >= 1);
        let flows = flow_pairs(v);
        assert!(
            flows
                .iter()
                .any(|(s, _)| enclosing(v, "timer", &s["tid"], ns(&s["ts"])).is_some()),
            "a wake from inside the timer wheel's firing"
        );

        // Parks, epoll returns and eventfd writes are recorded too.
        assert!(instants(v, "park").any(|e| e["name"] == "park"));
        assert!(instants(v, "epoll").all(|e| e["args"]["events"].as_u64() >= Some(1)));
        assert!(instants(v, "epoll").next().is_some());
        assert!(instants(v, "eventfd")
            .any(|e| e["name"].as_str().unwrap().starts_with("eventfd write")));
        assert!(flows.iter().any(|(s, _)| s["name"] == "wake"));
        assert!(flows.iter().any(|(s, _)| s["name"] == "spawn"));
    });
}

/// Every flow as (start, end), matched by id; panics on an unmatched end.
fn flow_pairs(v: &Value) -> Vec<(&Value, &Value)> {
    let starts: HashMap<u64, &Value> = events(v)
        .iter()
        .filter(|e| e["ph"] == "s")
        .map(|e| (e["id"].as_u64().unwrap(), e))
        .collect();
    let pairs: Vec<_> = events(v)
        .iter()
        .filter(|e| e["ph"] == "f")
        .map(|f| (starts[&f["id"].as_u64().unwrap()], f))
        .collect();
    assert_eq!(pairs.len(), starts.len(), "every flow has both ends");
    pairs
}

#[test]
fn polls_never_overlap_on_one_track() {
    let _g = lock();
    with_deadline(60, || {
        let v = scripted();
        let mut by_track: HashMap<u64, Vec<(i64, i64)>> = HashMap::new();
        for p in slices(v, "poll") {
            let (ts, dur) = (ns(&p["ts"]), ns(&p["dur"]));
            by_track
                .entry(p["tid"].as_u64().unwrap())
                .or_default()
                .push((ts, ts + dur));
        }
        assert!(by_track.len() >= 2, "polls on both workers");
        for (tid, mut polls) in by_track {
            polls.sort();
            for w in polls.windows(2) {
                assert!(
                    w[0].1 <= w[1].0,
                    "track {tid}: poll {:?} overlaps {:?}",
                    w[0],
                    w[1]
                );
            }
        }
    });
}

#[test]
fn every_flow_ends_in_a_poll_of_the_same_task() {
    let _g = lock();
    with_deadline(60, || {
        let v = scripted();
        let flows = flow_pairs(v);
        assert!(flows.len() >= 8, "spawns and wakes: {}", flows.len());
        for (s, f) in flows {
            assert_eq!(s["args"]["task"], f["args"]["task"]);
            assert_eq!(f["bp"], "e", "the end binds to its enclosing slice");
            let poll = enclosing(v, "poll", &f["tid"], ns(&f["ts"]))
                .or_else(|| enclosing(v, "blocking", &f["tid"], ns(&f["ts"])))
                .unwrap_or_else(|| panic!("flow end {f} is in no poll"));
            assert_eq!(
                poll["args"]["task"], f["args"]["task"],
                "{f} ends in {poll}"
            );
            assert!(ns(&s["ts"]) <= ns(&f["ts"]), "a wake comes before its poll");
            // The start binds to a slice around it on its own track too.
            let t = ns(&s["ts"]);
            assert!(
                events(v).iter().any(|x| x["ph"] == "X"
                    && x["tid"] == s["tid"]
                    && ns(&x["ts"]) <= t
                    && t <= ns(&x["ts"]) + ns(&x["dur"])),
                "flow start {s} is in no slice"
            );
        }
    });
}

#[test]
fn the_svg_has_a_lane_per_worker_and_a_slice_per_poll() {
    let _g = lock();
    with_deadline(60, || {
        let v = scripted();
        let t = kiwi_timeline::Timeline::parse(&v.to_string()).unwrap();
        let svg = kiwi_timeline::render(&t, "scripted", None);
        let lanes: Vec<&str> = svg
            .match_indices("<g class=\"lane\" data-track=\"")
            .map(|(i, m)| {
                let rest = &svg[i + m.len()..];
                &rest[..rest.find('"').unwrap()]
            })
            .collect();
        assert_eq!(lanes.iter().filter(|l| l.starts_with("worker ")).count(), 2);
        assert_eq!(
            lanes.iter().collect::<BTreeSet<_>>().len(),
            lanes.len(),
            "{lanes:?}"
        );
        let polls = slices(v, "poll").count();
        assert_eq!(svg.matches("<rect class=\"poll\"").count(), polls);
        assert_eq!(
            svg.matches("<g class=\"steal\"").count(),
            instants(v, "steal").count()
        );
        assert_eq!(
            svg.matches("<path class=\"wake\"").count(),
            flow_pairs(v).len()
        );
        assert!(svg.contains("class=\"park\""));
        assert!(
            svg.contains(" ms</text>") || svg.contains(" µs</text>"),
            "a time axis"
        );
    });
}

/// The watch alarm and a rescue on the timeline: the scenario of a worker
/// stuck right after the runtime was idle (`util::stuck`), traced. The
/// worker that woke sets the alarm; the sibling it wakes takes the stuck
/// worker's events, which shows as a "rescue" instant on the rescuer's
/// track naming the stuck worker, drawn as a green arrow.
#[test]
fn the_alarm_and_a_rescue_show_on_the_timeline() {
    let _g = lock();
    with_deadline(60, || {
        let path = temp_path("rescue.json");
        for _ in 0..5 {
            let rt = kiwi::Builder::new()
                .workers(2)
                .trace_json(&path)
                .build()
                .unwrap();
            let (_, layout) = util::stuck::stuck_after_idle(&rt);
            let m = rt.handle().metrics();
            let rescues: u64 = (0..2).map(|i| m.worker(i).reactor_rescues()).sum();
            drop(rt);
            kiwi::runtime::trace::finish().unwrap();
            if !layout || rescues == 0 {
                continue; // the layout the scenario needs did not happen
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let v: Value = serde_json::from_str(&text).expect("valid JSON");
            assert!(instants(&v, "alarm").count() >= 1, "no alarm instant");
            let tracks = track_names(&v);
            let rescue = instants(&v, "rescue").next().expect("a rescue instant");
            let from = rescue["args"]["from"].as_u64().unwrap();
            assert!(rescue["args"]["events"].as_u64().unwrap() >= 1);
            let rescuer = &tracks[&rescue["tid"].as_u64().unwrap()];
            assert_ne!(
                *rescuer,
                format!("worker {from}"),
                "a worker rescued itself"
            );
            let t = kiwi_timeline::Timeline::parse(&text).unwrap();
            let svg = kiwi_timeline::render(&t, "rescue", None);
            assert_eq!(
                svg.matches("<g class=\"rescue\"").count(),
                instants(&v, "rescue").count()
            );
            return;
        }
        panic!("in 5 runs the stuck worker's sockets were never rescued");
    });
}

#[test]
fn a_tiny_ring_keeps_the_newest_events_and_counts_the_dropped() {
    let _g = lock();
    with_deadline(60, || {
        let path = temp_path("tiny.json");
        let rt = kiwi::Builder::new()
            .workers(2)
            .trace_json(&path)
            .trace_json_capacity(64)
            .build()
            .unwrap();
        let id = rt.block_on(async {
            let h = kiwi::spawn(async {
                for _ in 0..500 {
                    kiwi::yield_now().await;
                }
            });
            let id = h.id();
            h.await.unwrap();
            id
        });
        drop(rt);
        kiwi::runtime::trace::finish().unwrap();
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let dropped = v["otherData"]["kiwi_dropped_events"].as_u64().unwrap();
        // Events as recorded: not the slices the writer adds around a timer
        // firing's instant or a bare wake's flow start.
        let kept = events(&v)
            .iter()
            .filter(|e| matches!(e["ph"].as_str(), Some("X" | "i")))
            .filter(|e| e["name"] != "fire timers" && e["cat"] != "waker")
            .count() as u64;
        assert_eq!(kept, 64, "the ring holds exactly its capacity");
        assert_eq!(v["otherData"]["kiwi_events"], 64);
        assert!(
            dropped + kept >= 1000,
            "500 polls and 500 wakes: {dropped} + {kept}"
        );
        let id = id.to_string().parse::<u64>().unwrap();
        assert!(
            !instants(&v, "spawn").any(|e| e["args"]["task"] == id),
            "the oldest event, the spawn, was dropped"
        );
        assert!(
            slices(&v, "poll").any(|e| e["args"]["task"] == id),
            "the newest polls were kept"
        );
    });
}

// ----- the tour's picture --------------------------------------------------

/// Pixels in a lane's slice band that are neither background nor grey.
fn coloured_pixels(pixmap: &resvg::tiny_skia::Pixmap, y: f64) -> usize {
    use kiwi_timeline::layout::*;
    let top = (y + (LANE - SLICE) / 2.0 + 2.0) as u32;
    let bottom = (y + (LANE + SLICE) / 2.0 - 2.0) as u32;
    let mut n = 0;
    for py in top..bottom {
        for px in LEFT as u32..(WIDTH - RIGHT) as u32 {
            let c = pixmap.pixel(px, py).unwrap();
            let (r, g, b) = (c.red() as i32, c.green() as i32, c.blue() as i32);
            if (r - g).abs() > 24 || (g - b).abs() > 24 || (r - b).abs() > 24 {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn the_tours_timeline_renders_to_a_png_with_busy_worker_lanes() {
    with_deadline(120, || {
        let out = Command::new(example("tour")).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Step 8 narrates one spawn and one sleep in text trace mode
        // (issue 15, item 6): the task is polled, its worker parks, the timer
        // fires, the same task is polled again and completes, and the
        // `block_on` thread waiting for it is woken through its eventfd.
        let stderr = String::from_utf8_lossy(&out.stderr);
        let narrative = [
            "worker 0: polling task ",
            "worker 0: parked",
            "worker 0: 1 timer(s) fired",
            "worker 0: polling task ",
            "eventfd written to wake parked block_on",
        ];
        let mut rest = stderr.as_ref();
        for line in narrative {
            let at = rest.find(line).unwrap_or_else(|| {
                panic!("trace line {line:?} missing or out of order:\n{stderr}")
            });
            rest = &rest[at + line.len()..];
        }
        let polled: Vec<&str> = stderr
            .lines()
            .filter_map(|l| l.split("worker 0: polling task ").nth(1))
            .collect();
        assert_eq!(polled.len(), 2, "one task, polled twice:\n{stderr}");
        assert_eq!(polled[0], polled[1], "the same task both times");

        let stdout = String::from_utf8(out.stdout).unwrap();
        let path = stdout
            .lines()
            .map(str::trim)
            .find(|l| l.ends_with("tour-steal.svg"))
            .map(PathBuf::from)
            .unwrap_or_else(|| panic!("the tour prints its SVG path:\n{stdout}"));
        let target = example("tour").ancestors().nth(3).unwrap().to_path_buf();
        assert!(
            path.starts_with(&target),
            "{} is under {}",
            path.display(),
            target.display()
        );
        let svg = std::fs::read_to_string(&path).unwrap();

        let tree = resvg::usvg::Tree::from_str(&svg, &resvg::usvg::Options::default()).unwrap();
        let size = tree.size().to_int_size();
        let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).unwrap();
        resvg::render(
            &tree,
            resvg::tiny_skia::Transform::identity(),
            &mut pixmap.as_mut(),
        );
        let png = pixmap.encode_png().unwrap();
        std::fs::write(path.with_extension("png"), &png).unwrap();
        let pixmap = resvg::tiny_skia::Pixmap::decode_png(&png).unwrap();

        let mut workers = 0;
        for (i, _) in svg.match_indices("<g class=\"lane\" data-track=\"worker ") {
            let rest = &svg[i..];
            let y = rest.find("data-y=\"").map(|j| &rest[j + 8..]).unwrap();
            let y: f64 = y[..y.find('"').unwrap()].parse().unwrap();
            let n = coloured_pixels(&pixmap, y);
            assert!(n > 500, "worker lane at y={y} has {n} coloured pixels");
            workers += 1;
        }
        assert_eq!(workers, 2, "one lane per worker");
    });
}

// ----- bad input ------------------------------------------------------------

/// Runs the ignored test `name` in a fresh process with `KIWI_TRACE`.
fn child(name: &str, kiwi_trace: &str) -> (String, String) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            name,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("KIWI_TRACE", kiwi_trace)
        .env("KIWI_TIMELINE_CHILD", "1")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    (stdout, stderr)
}

/// Not a test on its own: the child process of
/// `kiwi_trace_json_path_records_the_timeline`.
#[test]
#[ignore = "the child process of a KIWI_TRACE test"]
fn child_runs_one_runtime() {
    assert!(std::env::var_os("KIWI_TIMELINE_CHILD").is_some());
    let rt = kiwi::Builder::new().workers(2).build().unwrap();
    assert!(kiwi::runtime::trace::enabled());
    let n = rt.block_on(async { kiwi::spawn(async { 7 }).await.unwrap() });
    assert_eq!(n, 7);
    drop(rt);
    println!("child ran traced");
}

#[test]
fn kiwi_trace_json_path_records_the_timeline() {
    with_deadline(60, || {
        let path = temp_path("from-env.json");
        let _ = std::fs::remove_file(&path);
        let (stdout, stderr) = child(
            "child_runs_one_runtime",
            &format!("json:{}", path.display()),
        );
        assert!(stdout.contains("child ran traced"), "{stdout}\n{stderr}");
        assert!(!stderr.contains("kiwi:"), "no complaint: {stderr}");
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let names: BTreeSet<String> = track_names(&v).into_values().collect();
        assert!(names.contains("block_on"), "{names:?}");
        assert!(names.iter().any(|n| n.starts_with("worker ")), "{names:?}");
        assert!(slices(&v, "poll").any(|p| p["name"].as_str().unwrap().starts_with("task ")));
        assert_eq!(v["otherData"]["kiwi_dropped_events"], 0);
    });
}

/// Not a test on its own: the child process of the two tests below (which
/// run it with `--ignored`).
#[test]
#[ignore = "the child process of the bad-input tests"]
fn child_builds_two_runtimes() {
    assert!(
        std::env::var_os("KIWI_TIMELINE_CHILD").is_some(),
        "run by the bad-input tests, with KIWI_TRACE set"
    );
    for _ in 0..2 {
        let rt = kiwi::Builder::new().workers(2).build().unwrap();
        assert_eq!(
            rt.block_on(async { kiwi::spawn(async { 7 }).await.unwrap() }),
            7
        );
        assert!(
            !kiwi::runtime::trace::enabled(),
            "bad input leaves the runtime untraced"
        );
    }
    assert_eq!(kiwi::block_on(async { 1 }), 1);
    println!("child ran untraced");
}

#[test]
fn an_unwritable_path_is_reported_once_and_the_runtime_runs_untraced() {
    with_deadline(60, || {
        let (stdout, stderr) = child(
            "child_builds_two_runtimes",
            "json:/nonexistent-kiwi-dir/trace.json",
        );
        assert!(stdout.contains("child ran untraced"), "{stdout}\n{stderr}");
        let message = "kiwi: cannot write the trace timeline to /nonexistent-kiwi-dir/trace.json";
        assert_eq!(stderr.matches(message).count(), 1, "{stderr}");
        assert!(stderr.contains("Running untraced"), "{stderr}");
    });
}

#[test]
fn an_unknown_kiwi_trace_value_lists_the_accepted_ones() {
    with_deadline(60, || {
        let (stdout, stderr) = child("child_builds_two_runtimes", "verbose");
        assert!(stdout.contains("child ran untraced"), "{stdout}\n{stderr}");
        assert_eq!(
            stderr
                .matches("KIWI_TRACE=\"verbose\" is not understood")
                .count(),
            1,
            "{stderr}"
        );
        assert!(
            stderr.contains("`1`") && stderr.contains("`json:PATH`") && stderr.contains("`0`"),
            "{stderr}"
        );
    });
}

/// Regression (seen in the first timelines): a worker waking from
/// `epoll_wait` drained its remote queue while still on the idle list, so
/// the notify for its surplus could pick the worker itself, and a sibling
/// that really slept stayed asleep. Bursts of spawns from a plain thread
/// wake parked workers with surplus work; no notify may name its own track.
#[test]
fn a_waking_worker_never_notifies_itself() {
    let _guard = lock();
    with_deadline(60, || {
        let path = temp_path("self-notify.json");
        let rt = kiwi::Builder::new()
            .workers(2)
            .trace_json(&path)
            .build()
            .unwrap();
        let handle = rt.handle().clone();
        std::thread::spawn(move || {
            for _ in 0..50 {
                let hs: Vec<_> = (0..8)
                    .map(|_| handle.spawn(async { spin(Duration::from_micros(50)) }))
                    .collect();
                for h in hs {
                    kiwi::block_on(h).unwrap();
                }
                std::thread::sleep(Duration::from_millis(2)); // both park again
            }
        })
        .join()
        .unwrap();
        drop(rt);
        kiwi::runtime::trace::finish().unwrap();
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let names = track_names(&v);
        let notifies: Vec<&Value> = instants(&v, "notify").collect();
        assert!(!notifies.is_empty(), "the bursts woke no parked worker");
        for n in notifies {
            let track = &names[&n["tid"].as_u64().unwrap()];
            let target = format!("worker {}", n["args"]["worker"]);
            assert_ne!(track, &target, "a worker notified itself: {n}");
        }
    });
}
