//! Reading a kiwi timeline back: the JSON file as tracks, slices, instants
//! and flows.
//!
//! This is the reverse of `kiwi_runtime`'s `trace/chrome.rs`, and it reads
//! only what that writer writes: `thread_name` and `thread_sort_index`
//! metadata, `X` slices (`cat` "poll", "blocking", "root", ...), `i`
//! instants and `s`/`f` flow pairs. Times stay in microseconds, as in the
//! file.

use serde_json::Value;

/// One thread's track.
#[derive(Clone, Debug, PartialEq)]
pub struct Track {
    /// The track id (`tid` in the file).
    pub tid: u64,
    /// `worker 0`, `block_on`, `blocking 2`, ...
    pub name: String,
    /// Where it goes in the picture: workers first, by index.
    pub sort: i64,
}

/// A slice: a task poll, a blocking job, a root poll, a reactor dispatch.
#[derive(Clone, Debug, PartialEq)]
pub struct Slice {
    /// Its track.
    pub tid: u64,
    /// Start, µs.
    pub ts: f64,
    /// Duration, µs.
    pub dur: f64,
    /// The task polled (0 if none).
    pub task: u64,
    /// `poll`, `blocking`, `root`, `reactor` or `timer`.
    pub cat: String,
}

/// An instant: a park, a wake, a steal, a mark, ...
#[derive(Clone, Debug, PartialEq)]
pub struct Instant {
    /// Its track.
    pub tid: u64,
    /// When, µs.
    pub ts: f64,
    /// Its name, as shown in Perfetto (`park`, `steal 3 from worker 0`, a mark's label).
    pub name: String,
    /// `park`, `wake`, `spawn`, `steal`, `notify`, `eventfd`, `epoll`, `timer`, `mark`, ...
    pub cat: String,
    /// Its arguments (`from` and `tasks` for a steal, ...).
    pub args: Value,
}

/// An arrow from a wake (or spawn) to the poll it caused.
#[derive(Clone, Debug, PartialEq)]
pub struct Flow {
    /// `wake` or `spawn`.
    pub kind: String,
    /// The task woken.
    pub task: u64,
    /// Where the waker ran: track and time (µs).
    pub from: (u64, f64),
    /// Where the poll ran: track and time (µs).
    pub to: (u64, f64),
}

/// A whole timeline.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timeline {
    /// Every track, in picture order.
    pub tracks: Vec<Track>,
    /// Every slice.
    pub slices: Vec<Slice>,
    /// Every instant.
    pub instants: Vec<Instant>,
    /// Every complete flow.
    pub flows: Vec<Flow>,
    /// Events the runtime's ring dropped (`otherData.kiwi_dropped_events`).
    pub dropped: u64,
}

fn num(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

fn int(v: &Value, key: &str) -> Option<u64> {
    v.get(key).and_then(Value::as_u64)
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_string()
}

impl Timeline {
    /// Parses a trace file's text.
    ///
    /// # Errors
    ///
    /// A message if the text is not JSON or has no `traceEvents` array.
    ///
    /// # Examples
    ///
    /// ```
    /// let json = r#"{"traceEvents":[
    ///   {"ph":"M","pid":1,"tid":1,"name":"thread_name","args":{"name":"worker 0"}},
    ///   {"ph":"X","pid":1,"tid":1,"ts":1.0,"dur":2.0,"name":"task 7","cat":"poll","args":{"task":7}}
    /// ]}"#;
    /// let t = kiwi_timeline::Timeline::parse(json).unwrap();
    /// assert_eq!(t.tracks[0].name, "worker 0");
    /// assert_eq!(t.slices[0].task, 7);
    /// ```
    pub fn parse(json: &str) -> Result<Timeline, String> {
        let root: Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
        let events = root
            .get("traceEvents")
            .and_then(Value::as_array)
            .ok_or("no traceEvents array: not a Chrome trace-event file")?;
        let mut t = Timeline {
            dropped: root
                .pointer("/otherData/kiwi_dropped_events")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            ..Timeline::default()
        };
        let mut starts = std::collections::HashMap::new();
        let mut sorts = std::collections::HashMap::new();
        for e in events {
            let tid = int(e, "tid").unwrap_or(0);
            let ts = num(e, "ts").unwrap_or(0.0);
            let args = e.get("args").cloned().unwrap_or(Value::Null);
            match e.get("ph").and_then(Value::as_str).unwrap_or("") {
                "M" if text(e, "name") == "thread_name" => t.tracks.push(Track {
                    tid,
                    name: text(&args, "name"),
                    sort: 0,
                }),
                "M" if text(e, "name") == "thread_sort_index" => {
                    sorts.insert(tid, int(&args, "sort_index").unwrap_or(0) as i64);
                }
                "X" => t.slices.push(Slice {
                    tid,
                    ts,
                    dur: num(e, "dur").unwrap_or(0.0),
                    task: int(&args, "task").unwrap_or(0),
                    cat: text(e, "cat"),
                }),
                "i" | "I" => t.instants.push(Instant {
                    tid,
                    ts,
                    name: text(e, "name"),
                    cat: text(e, "cat"),
                    args,
                }),
                "s" => {
                    starts.insert(int(e, "id").unwrap_or(0), (text(e, "name"), tid, ts));
                }
                "f" => {
                    if let Some((kind, from_tid, from_ts)) =
                        starts.remove(&int(e, "id").unwrap_or(0))
                    {
                        t.flows.push(Flow {
                            kind,
                            task: int(&args, "task").unwrap_or(0),
                            from: (from_tid, from_ts),
                            to: (tid, ts),
                        });
                    }
                }
                _ => {}
            }
        }
        for track in &mut t.tracks {
            track.sort = sorts.get(&track.tid).copied().unwrap_or(i64::MAX);
        }
        t.tracks.sort_by_key(|k| (k.sort, k.tid));
        Ok(t)
    }

    /// The time of the first instant named `label` (a `trace::mark`).
    ///
    /// # Examples
    ///
    /// ```
    /// let json = r#"{"traceEvents":[
    ///   {"ph":"M","pid":1,"tid":1,"name":"thread_name","args":{"name":"worker 0"}},
    ///   {"ph":"i","pid":1,"tid":1,"ts":5.0,"s":"t","name":"go","cat":"mark","args":{}},
    ///   {"ph":"X","pid":1,"tid":1,"ts":1.0,"dur":2.0,"name":"task 7","cat":"poll","args":{"task":7}},
    ///   {"ph":"X","pid":1,"tid":1,"ts":6.0,"dur":3.0,"name":"task 8","cat":"poll","args":{"task":8}}
    /// ]}"#;
    /// let t = kiwi_timeline::Timeline::parse(json).unwrap();
    /// assert_eq!(t.mark("go"), Some(5.0));
    /// assert_eq!(t.mark("stop"), None);
    /// ```
    pub fn mark(&self, label: &str) -> Option<f64> {
        self.instants
            .iter()
            .filter(|i| i.cat == "mark" && i.name == label)
            .map(|i| i.ts)
            .reduce(f64::min)
    }

    /// The earliest and latest times of any event (µs).
    ///
    /// # Examples
    ///
    /// ```
    /// let json = r#"{"traceEvents":[
    ///   {"ph":"M","pid":1,"tid":1,"name":"thread_name","args":{"name":"worker 0"}},
    ///   {"ph":"i","pid":1,"tid":1,"ts":5.0,"s":"t","name":"go","cat":"mark","args":{}},
    ///   {"ph":"X","pid":1,"tid":1,"ts":1.0,"dur":2.0,"name":"task 7","cat":"poll","args":{"task":7}},
    ///   {"ph":"X","pid":1,"tid":1,"ts":6.0,"dur":3.0,"name":"task 8","cat":"poll","args":{"task":8}}
    /// ]}"#;
    /// let t = kiwi_timeline::Timeline::parse(json).unwrap();
    /// assert_eq!(t.span(), Some((1.0, 9.0)));
    /// ```
    pub fn span(&self) -> Option<(f64, f64)> {
        let starts = self.slices.iter().map(|s| s.ts);
        let ends = self.slices.iter().map(|s| s.ts + s.dur);
        let instants = self.instants.iter().map(|i| i.ts);
        let all: Vec<f64> = starts.chain(ends).chain(instants).collect();
        let lo = all.iter().copied().reduce(f64::min)?;
        let hi = all.iter().copied().reduce(f64::max)?;
        Some((lo, hi))
    }

    /// Only what happened between `from` and `to` (µs): slices that overlap
    /// the window, instants inside it, flows with an end inside it (the
    /// picture clips them at its edge). Tracks stay, so that an idle worker
    /// still has its (empty) lane.
    ///
    /// # Examples
    ///
    /// ```
    /// let json = r#"{"traceEvents":[
    ///   {"ph":"M","pid":1,"tid":1,"name":"thread_name","args":{"name":"worker 0"}},
    ///   {"ph":"i","pid":1,"tid":1,"ts":5.0,"s":"t","name":"go","cat":"mark","args":{}},
    ///   {"ph":"X","pid":1,"tid":1,"ts":1.0,"dur":2.0,"name":"task 7","cat":"poll","args":{"task":7}},
    ///   {"ph":"X","pid":1,"tid":1,"ts":6.0,"dur":3.0,"name":"task 8","cat":"poll","args":{"task":8}}
    /// ]}"#;
    /// let t = kiwi_timeline::Timeline::parse(json).unwrap();
    /// let later = t.crop(4.0, 10.0);
    /// assert_eq!(later.slices.len(), 1);
    /// assert_eq!(later.slices[0].task, 8);
    /// assert_eq!(later.tracks.len(), 1);
    /// ```
    pub fn crop(&self, from: f64, to: f64) -> Timeline {
        Timeline {
            tracks: self.tracks.clone(),
            slices: self
                .slices
                .iter()
                .filter(|s| s.ts <= to && s.ts + s.dur >= from)
                .cloned()
                .collect(),
            instants: self
                .instants
                .iter()
                .filter(|i| i.ts >= from && i.ts <= to)
                .cloned()
                .collect(),
            flows: self
                .flows
                .iter()
                .filter(|f| f.from.1 <= to && f.to.1 >= from)
                .cloned()
                .collect(),
            dropped: self.dropped,
        }
    }
}
