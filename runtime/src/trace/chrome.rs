//! Writing the timeline as Chrome trace-event JSON.
//!
//! The format (the "Trace Event Format" document that `chrome://tracing`
//! and Perfetto both read) is a JSON object with a `traceEvents` array. Each
//! entry has a phase `ph`, a process `pid`, a thread `tid` (our track) and a
//! time `ts` in microseconds (a fraction keeps our nanoseconds):
//!
//! - `"ph":"M"` names a track (`thread_name`) and orders it (`thread_sort_index`);
//! - `"ph":"X"` is a slice with a duration `dur`: a task poll named `task N`;
//! - `"ph":"i"` is an instant (`"s":"t"`: drawn on its thread's track);
//! - `"ph":"s"` and `"ph":"f"` are the two ends of a flow arrow with the same
//!   `id`. Each end binds to the slice that encloses it on its track, so the
//!   start sits where the waker ran (inside a poll, the reactor's dispatch, the
//!   timer wheel's firing, a blocking job; on a thread with none of these,
//!   a 1 ns slice of its own, `cat` "waker") and the end in the middle of the
//!   poll it caused (`"bp":"e"`: the enclosing slice).
//!
//! Which poll did a wake cause? The first poll of the same task after it. A
//! task's waker only queues it if it is not queued already (`task/state.rs`),
//! so each recorded wake is followed by exactly one poll of its task, and the
//! pairing needs no id carried through the run queues.
//!
//! The writer is a few `write!` calls: the runtime may not depend on serde,
//! and its strings (track names, mark labels) are escaped by [`escape`].

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};

use super::collector::Tracks;
use super::event::{Event, Kind};

/// Everything the file holds.
pub(crate) struct Timeline<'a> {
    /// Sorted by `ts` (the collector's trim sorts them).
    pub(crate) events: &'a [Event],
    pub(crate) tracks: &'a Tracks,
    pub(crate) labels: &'a [&'static str],
    pub(crate) dropped: u64,
    pub(crate) capacity: usize,
}

/// Microseconds with three decimals, from nanoseconds.
struct Micros(u64);

impl std::fmt::Display for Micros {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:03}", self.0 / 1000, self.0 % 1000)
    }
}

/// `s` as the inside of a JSON string.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// How a worker index reads in a name.
fn worker(a: u32) -> String {
    if a == u32::MAX {
        "block_on".to_string()
    } else {
        format!("worker {a}")
    }
}

impl Timeline<'_> {
    /// Pairs each wake or spawn with the next poll of its task: (source,
    /// poll). Also says which sources no slice encloses on their track (a
    /// plain thread's wake): those get a slice of their own, 1 ns long, for
    /// the arrow to start from.
    fn flows(&self) -> (HashMap<usize, usize>, HashSet<usize>) {
        let mut pending: HashMap<u64, usize> = HashMap::new();
        let mut flows = HashMap::new();
        // Per track, the end of the latest slice begun so far (slices on a
        // track nest or follow each other, and events are sorted by start).
        let mut open_until: HashMap<u32, u64> = HashMap::new();
        let mut bare = HashSet::new();
        for (i, e) in self.events.iter().enumerate() {
            match e.kind {
                Kind::Wake | Kind::Spawn => {
                    pending.insert(e.task, i);
                    if open_until.get(&e.track).is_none_or(|end| *end < e.ts) {
                        bare.insert(i);
                    }
                }
                Kind::Poll | Kind::Blocking => {
                    if let Some(src) = pending.remove(&e.task) {
                        flows.insert(src, i);
                    }
                }
                _ => {}
            }
            if matches!(
                e.kind,
                Kind::Poll | Kind::Root | Kind::Blocking | Kind::Dispatch | Kind::Timers
            ) {
                let end = open_until.entry(e.track).or_insert(0);
                *end = (*end).max(e.ts + e.dur);
            }
        }
        bare.retain(|i| flows.contains_key(i));
        (flows, bare)
    }

    /// Writes the whole file.
    pub(crate) fn write(&self, w: &mut impl Write) -> io::Result<()> {
        writeln!(
            w,
            "{{\"displayTimeUnit\":\"ns\",\"otherData\":{{\"kiwi_dropped_events\":{},\
             \"kiwi_ring_capacity\":{},\"kiwi_events\":{}}},\"traceEvents\":[",
            self.dropped,
            self.capacity,
            self.events.len()
        )?;
        write!(
            w,
            "{{\"ph\":\"M\",\"pid\":1,\"tid\":0,\"name\":\"process_name\",\"args\":{{\"name\":\"kiwi\"}}}},\n\
             {{\"ph\":\"M\",\"pid\":1,\"tid\":0,\"name\":\"process_labels\",\"args\":{{\"labels\":\"{} events dropped\"}}}}",
            self.dropped
        )?;
        // Only tracks with events: threads of an earlier runtime whose events
        // were all dropped (or recorded into an earlier file) get no lane.
        let used: std::collections::HashSet<u32> = self.events.iter().map(|e| e.track).collect();
        let mut tracks: Vec<_> = self
            .tracks
            .iter()
            .filter(|(id, _)| used.contains(id))
            .collect();
        tracks.sort_by_key(|(id, (_, sort))| (*sort, **id));
        for (id, (name, sort)) in tracks {
            write!(
                w,
                ",\n{{\"ph\":\"M\",\"pid\":1,\"tid\":{id},\"name\":\"thread_name\",\"args\":{{\"name\":\"{}\"}}}}\
                 ,\n{{\"ph\":\"M\",\"pid\":1,\"tid\":{id},\"name\":\"thread_sort_index\",\"args\":{{\"sort_index\":{sort}}}}}",
                escape(name)
            )?;
        }
        let (flows, bare) = self.flows();
        for (i, e) in self.events.iter().enumerate() {
            self.write_event(w, e)?;
            if let Some(poll) = flows.get(&i) {
                let kind = if e.kind == Kind::Spawn {
                    "spawn"
                } else {
                    "wake"
                };
                if bare.contains(&i) {
                    write!(
                        w,
                        ",\n{{\"ph\":\"X\",\"pid\":1,\"tid\":{},\"ts\":{},\"dur\":0.001,\"name\":\"{kind} task {}\",\"cat\":\"waker\",\"args\":{{\"task\":{}}}}}",
                        e.track,
                        Micros(e.ts),
                        e.task,
                        e.task
                    )?;
                }
                write!(
                    w,
                    ",\n{{\"ph\":\"s\",\"pid\":1,\"tid\":{},\"ts\":{},\"id\":{i},\"name\":\"{kind}\",\"cat\":\"flow\",\"args\":{{\"task\":{}}}}}",
                    e.track,
                    Micros(e.ts),
                    e.task
                )?;
                let p = &self.events[*poll];
                write!(
                    w,
                    ",\n{{\"ph\":\"f\",\"bp\":\"e\",\"pid\":1,\"tid\":{},\"ts\":{},\"id\":{i},\"name\":\"{kind}\",\"cat\":\"flow\",\"args\":{{\"task\":{}}}}}",
                    p.track,
                    Micros(p.ts + p.dur / 2),
                    p.task
                )?;
            }
        }
        writeln!(w, "\n]}}")
    }

    fn write_event(&self, w: &mut impl Write, e: &Event) -> io::Result<()> {
        let (ph, name, cat, args) = match e.kind {
            Kind::Poll => (
                "X",
                format!("task {}", e.task),
                "poll",
                format!("\"task\":{},\"lifo\":{}", e.task, e.a == 1),
            ),
            Kind::Root => ("X", "block_on root".into(), "root", String::new()),
            Kind::Blocking => (
                "X",
                format!("blocking task {}", e.task),
                "blocking",
                format!("\"task\":{}", e.task),
            ),
            Kind::Dispatch => ("X", "epoll dispatch".into(), "reactor", String::new()),
            Kind::Timers => {
                // The slice encloses the wakes of the timers it fires; the
                // instant is the firing itself.
                write!(
                    w,
                    ",\n{{\"ph\":\"X\",\"pid\":1,\"tid\":{},\"ts\":{},\"dur\":{},\"name\":\"fire timers\",\"cat\":\"timer\"}}",
                    e.track,
                    Micros(e.ts),
                    Micros(e.dur)
                )?;
                (
                    "i",
                    format!("{} timer(s) fired", e.a),
                    "timer",
                    format!("\"fired\":{},\"cascaded\":{}", e.a, e.b),
                )
            }
            Kind::Epoll => (
                "i",
                format!("epoll: {} event(s)", e.a),
                "epoll",
                format!("\"events\":{}", e.a),
            ),
            Kind::Park => ("i", "park".into(), "park", String::new()),
            Kind::Unpark => ("i", "unpark".into(), "park", String::new()),
            Kind::Wake => (
                "i",
                format!("wake task {}", e.task),
                "wake",
                format!("\"task\":{}", e.task),
            ),
            Kind::Spawn => (
                "i",
                format!("spawn task {}", e.task),
                "spawn",
                format!("\"task\":{}", e.task),
            ),
            Kind::Ready => (
                "i",
                format!("fd {} ready: task {}", e.a, e.task),
                "reactor",
                format!("\"fd\":{},\"events\":{},\"task\":{}", e.a, e.b, e.task),
            ),
            Kind::Steal => (
                "i",
                format!("steal {} from {}", e.b, worker(e.a)),
                "steal",
                format!("\"from\":{},\"tasks\":{}", e.a, e.b),
            ),
            Kind::Notify => (
                "i",
                format!("notify parked {}", worker(e.a)),
                "notify",
                format!("\"worker\":{}", e.a),
            ),
            Kind::EventfdWrite => (
                "i",
                format!("eventfd write: wake {}", worker(e.a)),
                "eventfd",
                format!("\"worker\":{}", e.a),
            ),
            Kind::EventfdSkip => (
                "i",
                format!("eventfd skipped: {} awake", worker(e.a)),
                "eventfd",
                format!("\"worker\":{}", e.a),
            ),
            Kind::Rescue => (
                "i",
                format!("rescue {} event(s) of stuck {}", e.b, worker(e.a)),
                "rescue",
                format!("\"from\":{},\"events\":{}", e.a, e.b),
            ),
            Kind::Alarm => ("i", "alarm set".to_string(), "alarm", String::new()),
            Kind::Mark => {
                let label = self.labels.get(e.a as usize).copied().unwrap_or("?");
                ("i", escape(label), "mark", String::new())
            }
        };
        write!(
            w,
            ",\n{{\"ph\":\"{ph}\",\"pid\":1,\"tid\":{},\"ts\":{},",
            e.track,
            Micros(e.ts)
        )?;
        if ph == "X" {
            write!(w, "\"dur\":{},", Micros(e.dur))?;
        } else {
            write!(w, "\"s\":\"t\",")?;
        }
        write!(
            w,
            "\"name\":\"{name}\",\"cat\":\"{cat}\",\"args\":{{{args}}}}}"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: Kind, ts: u64, dur: u64, task: u64, track: u32) -> Event {
        Event {
            ts,
            dur,
            task,
            track,
            a: 0,
            b: 0,
            kind,
        }
    }

    #[test]
    fn escapes_quotes_backslashes_and_controls() {
        assert_eq!(escape("a\"b\\c\nd\u{1}"), "a\\\"b\\\\c\\nd\\u0001");
        assert_eq!(escape("worker 0 ✓"), "worker 0 ✓");
    }

    #[test]
    fn micros_keep_nanoseconds() {
        assert_eq!(Micros(1_234_567).to_string(), "1234.567");
        assert_eq!(Micros(5).to_string(), "0.005");
    }

    #[test]
    fn a_wake_pairs_with_the_next_poll_of_its_task_only() {
        let events = [
            ev(Kind::Poll, 0, 10, 7, 1),
            ev(Kind::Wake, 20, 0, 7, 2),
            ev(Kind::Poll, 25, 5, 8, 1),
            ev(Kind::Poll, 30, 5, 7, 1),
            ev(Kind::Poll, 40, 5, 7, 1),
        ];
        let tracks = Tracks::new();
        let t = Timeline {
            events: &events,
            tracks: &tracks,
            labels: &[],
            dropped: 3,
            capacity: 10,
        };
        let (flows, bare) = t.flows();
        assert_eq!(flows.len(), 1);
        assert_eq!(flows.get(&1), Some(&3));
        // The wake on track 2 is in no slice there: it gets one of its own.
        assert_eq!(bare.len(), 1);
        let mut out = Vec::new();
        t.write(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\"kiwi_dropped_events\":3"), "{text}");
        assert_eq!(text.matches("\"ph\":\"s\"").count(), 1);
        assert_eq!(text.matches("\"ph\":\"f\"").count(), 1);
        // The flow ends inside the poll: 30 + 5/2 ns.
        assert!(text.contains("\"ph\":\"f\",\"bp\":\"e\",\"pid\":1,\"tid\":1,\"ts\":0.032"));
        assert!(text.contains("\"tid\":2,\"ts\":0.020,\"dur\":0.001,\"name\":\"wake task 7\""));
    }
}
