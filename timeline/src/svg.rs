//! Drawing a timeline as SVG: one lane per track, time left to right.
//!
//! What the picture shows, and how:
//!
//! - a **lane** per thread (workers first, then `block_on`, then the blocking
//!   pool), labelled on the left;
//! - a **poll slice** per task poll: a box as long as the poll, coloured by
//!   task id (the same task has the same colour on every lane, so a task that
//!   moved is easy to follow);
//! - a **park gap**: a dashed grey line where the worker slept in
//!   `epoll_wait`, from its park to its wake-up;
//! - **wake arrows** (thin, blue): from where a waker ran to the poll it
//!   caused; spawns are drawn the same way, dotted;
//! - **steal arrows** (thick, orange): from the victim's lane to the thief's,
//!   labelled with the number of tasks taken;
//! - **marks** (`trace::mark`): a labelled vertical line;
//! - a **time axis** in µs or ms from the left edge.
//!
//! Every element carries a class (`lane`, `poll`, `park`, `wake`, `steal`,
//! ...) and lanes carry `data-track` and `data-y`, so tests can count them.

use std::fmt::Write;

use crate::model::{Slice, Timeline};

/// Where things go, in SVG user units (pixels).
pub mod layout {
    /// Width of the whole picture.
    pub const WIDTH: f64 = 1200.0;
    /// Room on the left for the lane labels.
    pub const LEFT: f64 = 110.0;
    /// Room on the right.
    pub const RIGHT: f64 = 20.0;
    /// Room above the first lane (the title).
    pub const TOP: f64 = 34.0;
    /// Height of one lane.
    pub const LANE: f64 = 34.0;
    /// Height of a poll slice inside its lane.
    pub const SLICE: f64 = 20.0;
    /// Room below the last lane (axis and legend).
    pub const BOTTOM: f64 = 56.0;
}

use layout::*;

/// The colour of a task: the golden angle spreads consecutive ids apart.
fn colour(task: u64) -> String {
    let hue = (task.wrapping_mul(137) % 360) as f64 + (task % 7) as f64 * 0.5;
    format!("hsl({hue:.0},65%,52%)")
}

/// A round tick step (1, 2 or 5 × 10^k µs) for about `n` ticks over `span`.
fn tick_step(span: f64, n: f64) -> f64 {
    let raw = (span / n).max(1e-3);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

fn label_time(us: f64, step: f64) -> String {
    if step >= 1000.0 {
        format!("{} ms", trim(us / 1000.0))
    } else {
        format!("{} µs", trim(us))
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Draws `t` between `from` and `to` (µs; the whole run if `None`).
///
/// # Examples
///
/// ```
/// let json = r#"{"traceEvents":[
///   {"ph":"M","pid":1,"tid":1,"name":"thread_name","args":{"name":"worker 0"}},
///   {"ph":"X","pid":1,"tid":1,"ts":1.0,"dur":2.0,"name":"task 7","cat":"poll","args":{"task":7}}
/// ]}"#;
/// let t = kiwi_timeline::Timeline::parse(json).unwrap();
/// let svg = kiwi_timeline::render(&t, "one poll", None);
/// assert_eq!(svg.matches("class=\"poll\"").count(), 1);
/// ```
pub fn render(t: &Timeline, title: &str, window: Option<(f64, f64)>) -> String {
    let (t0, t1) = window.or_else(|| t.span()).unwrap_or((0.0, 1.0));
    let span = (t1 - t0).max(1e-3);
    let plot = WIDTH - LEFT - RIGHT;
    let x = |ts: f64| LEFT + (ts - t0) / span * plot;
    // A worker always gets its lane (an idle worker is worth seeing); any
    // other thread only if it did something in the window.
    let busy =
        |tid: u64| t.slices.iter().any(|s| s.tid == tid) || t.instants.iter().any(|i| i.tid == tid);
    let lanes: Vec<_> = t
        .tracks
        .iter()
        .filter(|k| k.name.starts_with("worker ") || busy(k.tid))
        .collect();
    let lane_y = |tid: u64| {
        lanes
            .iter()
            .position(|k| k.tid == tid)
            .map(|i| TOP + i as f64 * LANE)
    };
    let height = TOP + lanes.len() as f64 * LANE + BOTTOM;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {WIDTH} {height}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <defs>\
         <marker id=\"wake-head\" viewBox=\"0 0 6 6\" refX=\"6\" refY=\"3\" markerWidth=\"5\" markerHeight=\"5\" orient=\"auto\"><path d=\"M0,0 L6,3 L0,6 z\" fill=\"#2a6fdb\"/></marker>\
         <marker id=\"steal-head\" viewBox=\"0 0 6 6\" refX=\"6\" refY=\"3\" markerWidth=\"4\" markerHeight=\"4\" orient=\"auto\"><path d=\"M0,0 L6,3 L0,6 z\" fill=\"#e8700a\"/></marker>\
         <marker id=\"rescue-head\" viewBox=\"0 0 6 6\" refX=\"6\" refY=\"3\" markerWidth=\"4\" markerHeight=\"4\" orient=\"auto\"><path d=\"M0,0 L6,3 L0,6 z\" fill=\"#1f9d55\"/></marker>\
         <clipPath id=\"plot\"><rect x=\"{LEFT}\" y=\"0\" width=\"{plot}\" height=\"{height}\"/></clipPath>\
         </defs>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{LEFT}\" y=\"20\" font-size=\"14\" font-weight=\"bold\">{}</text>\n",
        esc(title)
    );
    // Lanes.
    for (i, k) in lanes.iter().enumerate() {
        let y = TOP + i as f64 * LANE;
        let fill = if i % 2 == 0 { "#f4f4f4" } else { "#fafafa" };
        let _ = writeln!(
            s,
            "<g class=\"lane\" data-track=\"{}\" data-y=\"{y}\"><rect x=\"{LEFT}\" y=\"{y}\" width=\"{plot}\" height=\"{LANE}\" fill=\"{fill}\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text></g>",
            esc(&k.name),
            LEFT - 8.0,
            y + LANE / 2.0 + 4.0,
            esc(&k.name)
        );
    }
    // Park gaps: each park to the next wake-up on the same track.
    let mut parks: Vec<_> = t.instants.iter().filter(|i| i.cat == "park").collect();
    parks.sort_by(|a, b| a.ts.total_cmp(&b.ts));
    // A lane whose first park event in the window is a wake-up was parked
    // when the window opened.
    for k in &lanes {
        if let Some(u) = parks.iter().find(|p| p.tid == k.tid) {
            if u.name == "unpark" {
                park_gap(&mut s, &x, TOP, k, &lanes, t0, u.ts);
            }
        }
    }
    for (n, p) in parks.iter().enumerate() {
        if p.name != "park" {
            continue;
        }
        let Some(k) = lanes.iter().find(|k| k.tid == p.tid) else {
            continue;
        };
        let end = parks[n + 1..]
            .iter()
            .find(|u| u.tid == p.tid && u.name == "unpark")
            .map_or(t1, |u| u.ts);
        park_gap(&mut s, &x, TOP, k, &lanes, p.ts.max(t0), end.min(t1));
    }
    // Slices.
    for sl in &t.slices {
        draw_slice(&mut s, sl, &x, &lane_y, t0, t1);
    }
    // Marks.
    let bottom = TOP + lanes.len() as f64 * LANE;
    for m in t.instants.iter().filter(|i| i.cat == "mark") {
        let mx = x(m.ts);
        let (tx, anchor) = label_at(mx);
        let _ = writeln!(
            s,
            "<g class=\"mark\"><line x1=\"{mx:.2}\" y1=\"{}\" x2=\"{mx:.2}\" y2=\"{bottom}\" stroke=\"#555\" stroke-dasharray=\"2,2\"/>\
             <text x=\"{tx:.2}\" y=\"{}\" fill=\"#555\" text-anchor=\"{anchor}\">{}</text></g>",
            TOP - 8.0,
            TOP - 2.0,
            esc(&m.name)
        );
    }
    // Notifies: a dashed purple arrow from the worker with surplus work to
    // the parked sibling it wakes; eventfd writes: a black tick.
    s.push_str("<g clip-path=\"url(#plot)\">\n");
    for n in t
        .instants
        .iter()
        .filter(|i| i.cat == "notify" || i.cat == "eventfd")
    {
        let Some(y1) = lane_y(n.tid) else { continue };
        let nx = x(n.ts);
        if n.cat == "eventfd" {
            if n.name.starts_with("eventfd write") {
                let _ = writeln!(
                    s,
                    "<line class=\"eventfd\" x1=\"{nx:.2}\" y1=\"{:.1}\" x2=\"{nx:.2}\" y2=\"{:.1}\" stroke=\"#000\" stroke-width=\"1.2\"><title>{}</title></line>",
                    y1 + 3.0,
                    y1 + LANE - 3.0,
                    esc(&n.name)
                );
            }
            continue;
        }
        let target = n.args.get("worker").and_then(|v| v.as_u64()).unwrap_or(0);
        let lane = lanes.iter().find(|k| k.name == format!("worker {target}"));
        let Some(y2) = lane.and_then(|k| lane_y(k.tid)) else {
            continue;
        };
        let (y1, y2) = (y1 + LANE / 2.0, y2 + LANE / 2.0);
        let _ = writeln!(
            s,
            "<path class=\"notify\" d=\"M{nx:.2},{y1:.1} C{:.2},{y1:.1} {:.2},{y2:.1} {:.2},{y2:.1}\" fill=\"none\" stroke=\"#8a3ab9\" stroke-width=\"1.5\" stroke-dasharray=\"3,2\" marker-end=\"url(#wake-head)\"><title>{}</title></path>",
            nx + 6.0,
            nx + 6.0,
            nx + 12.0,
            esc(&n.name)
        );
    }
    // Wake arrows.
    for f in &t.flows {
        let (Some(y1), Some(y2)) = (lane_y(f.from.0), lane_y(f.to.0)) else {
            continue;
        };
        let (x1, x2) = (x(f.from.1), x(f.to.1));
        let (y1, y2) = (y1 + LANE / 2.0, y2 + (LANE - SLICE) / 2.0);
        let bend = if (y1 - y2).abs() < 1.0 { -14.0 } else { 0.0 };
        let dash = if f.kind == "spawn" {
            " stroke-dasharray=\"2,2\""
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "<path class=\"wake\" d=\"M{x1:.2},{y1:.1} C{x1:.2},{:.1} {x2:.2},{:.1} {x2:.2},{y2:.1}\" fill=\"none\" stroke=\"#2a6fdb\" stroke-opacity=\"0.6\" stroke-width=\"1\"{dash} marker-end=\"url(#wake-head)\"><title>{} task {}</title></path>",
            y1 + bend,
            y2 + bend,
            f.kind,
            f.task
        );
    }
    s.push_str("</g>\n");
    // Steal arrows: from the victim's lane to the thief's; rescues (a
    // sibling turning a stuck worker's reactor) the same way, in green.
    for st in t
        .instants
        .iter()
        .filter(|i| i.cat == "steal" || i.cat == "rescue")
    {
        let (count, colour, text, head) = match st.cat.as_str() {
            "steal" => ("tasks", "#e8700a", "#b35200", "steal-head"),
            _ => ("events", "#1f9d55", "#146c3a", "rescue-head"),
        };
        let from = st.args.get("from").and_then(|v| v.as_u64()).unwrap_or(0);
        let n = st.args.get(count).and_then(|v| v.as_u64()).unwrap_or(0);
        let victim = lanes.iter().find(|k| k.name == format!("worker {from}"));
        let (Some(v), Some(y2)) = (victim.and_then(|k| lane_y(k.tid)), lane_y(st.tid)) else {
            continue;
        };
        let sx = x(st.ts);
        let (y1, y2) = (v + LANE / 2.0, y2 + LANE / 2.0);
        let (tx, anchor) = label_at(sx);
        let _ = writeln!(
            s,
            "<g class=\"{cat}\"><line x1=\"{sx:.2}\" y1=\"{y1:.1}\" x2=\"{sx:.2}\" y2=\"{y2:.1}\" stroke=\"{colour}\" stroke-width=\"2.5\" marker-end=\"url(#{head})\"/>\
             <text x=\"{tx:.2}\" y=\"{:.1}\" fill=\"{text}\" font-weight=\"bold\" text-anchor=\"{anchor}\">{cat} {n}</text></g>",
            (y1 + y2) / 2.0 + 4.0,
            cat = st.cat
        );
    }
    axis(&mut s, t0, span, bottom, &x);
    let _ = writeln!(
        s,
        "<text x=\"{LEFT}\" y=\"{}\" fill=\"#444\">boxes: task polls, coloured by task · grey dashes: parked · blue: wake → the poll it caused (dotted: spawn) · \
         purple: notify of a parked worker · black tick: eventfd write · orange: steal · green: rescue{}</text>\n</svg>",
        bottom + 44.0,
        if t.dropped > 0 {
            format!(" · {} older events dropped", t.dropped)
        } else {
            String::new()
        }
    );
    s
}

/// A dashed grey line on lane `k` from `from` to `to` (µs): parked.
fn park_gap(
    s: &mut String,
    x: &impl Fn(f64) -> f64,
    top: f64,
    k: &crate::model::Track,
    lanes: &[&crate::model::Track],
    from: f64,
    to: f64,
) {
    let Some(i) = lanes.iter().position(|l| l.tid == k.tid) else {
        return;
    };
    let m = top + i as f64 * LANE + LANE / 2.0;
    let _ = writeln!(
        s,
        "<line class=\"park\" x1=\"{:.2}\" y1=\"{m:.1}\" x2=\"{:.2}\" y2=\"{m:.1}\" stroke=\"#9a9a9a\" stroke-width=\"2\" stroke-dasharray=\"4,3\"><title>parked {:.1} µs</title></line>",
        x(from),
        x(to),
        to - from
    );
}

/// Where a label beside a vertical line at `x` goes: to its right, or to
/// its left near the right edge, so that it is not cut off.
fn label_at(x: f64) -> (f64, &'static str) {
    if x > WIDTH - RIGHT - 90.0 {
        (x - 4.0, "end")
    } else {
        (x + 4.0, "start")
    }
}

fn draw_slice(
    s: &mut String,
    sl: &Slice,
    x: &impl Fn(f64) -> f64,
    lane_y: &impl Fn(u64) -> Option<f64>,
    t0: f64,
    t1: f64,
) {
    let Some(y) = lane_y(sl.tid) else { return };
    let (class, fill, top, h) = match sl.cat.as_str() {
        "poll" => ("poll", colour(sl.task), (LANE - SLICE) / 2.0, SLICE),
        "blocking" => ("blocking", colour(sl.task), (LANE - SLICE) / 2.0, SLICE),
        "root" => ("root", "#777".to_string(), LANE / 2.0 - 3.0, 6.0),
        _ => return, // dispatch and timer slices only anchor arrows
    };
    let a = x(sl.ts.max(t0));
    let w = (x((sl.ts + sl.dur).min(t1)) - a).max(0.8);
    let name = if sl.cat == "root" {
        "block_on root".to_string()
    } else {
        format!("task {}", sl.task)
    };
    let _ = writeln!(
        s,
        "<rect class=\"{class}\" data-task=\"{}\" x=\"{a:.2}\" y=\"{:.1}\" width=\"{w:.2}\" height=\"{h}\" fill=\"{fill}\"><title>{name}: {:.1} µs</title></rect>",
        sl.task,
        y + top,
        sl.dur
    );
}

fn axis(s: &mut String, t0: f64, span: f64, y: f64, x: &impl Fn(f64) -> f64) {
    let step = tick_step(span, 8.0);
    let _ = writeln!(
        s,
        "<g class=\"axis\"><line x1=\"{LEFT}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#333\"/>",
        WIDTH - RIGHT
    );
    let mut k = 0.0;
    while k <= span + 1e-9 {
        let tx = x(t0 + k);
        let _ = writeln!(
            s,
            "<line x1=\"{tx:.2}\" y1=\"{y}\" x2=\"{tx:.2}\" y2=\"{}\" stroke=\"#333\"/><text x=\"{tx:.2}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            y + 5.0,
            y + 18.0,
            label_time(k, step)
        );
        k += step;
    }
    s.push_str("</g>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round() {
        assert_eq!(tick_step(1000.0, 8.0), 200.0);
        assert_eq!(tick_step(80_000.0, 8.0), 10_000.0);
        assert_eq!(tick_step(7.0, 8.0), 1.0);
        assert_eq!(label_time(20_000.0, 10_000.0), "20 ms");
        assert_eq!(label_time(250.0, 50.0), "250 µs");
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(esc("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
