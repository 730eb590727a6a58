//! The HTML report's charts, drawn as inline SVG with plotters' SVG backend (no bitmap, no font
//! files: the browser lays the text out): calls per second against the quota, streams by
//! phase over time, the time to ENABLED as a histogram, and each key's streams against its
//! limit. Each function returns one `<svg>` element, sized by its `viewBox` so that it scales
//! to the page and to paper.

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::timeline::{PHASES, PhaseSeries, Rates};
use crate::clock::{EpochMillis, SECOND};
use crate::engine::Phase;
use crate::plan::Action;

const WIDTH: u32 = 960;

/// Colours that stay apart for colour-blind readers (Okabe and Ito), for the places of a run.
const PLACES: [RGBColor; 7] = [
    RGBColor(0x00, 0x72, 0xB2),
    RGBColor(0xE6, 0x9F, 0x00),
    RGBColor(0x00, 0x9E, 0x73),
    RGBColor(0xCC, 0x79, 0xA7),
    RGBColor(0x56, 0xB4, 0xE9),
    RGBColor(0x00, 0x00, 0x00),
    RGBColor(0xD5, 0x5E, 0x00),
];

/// What drawing on the SVG backend may fail with.
type Drawing = DrawingAreaErrorKind<std::io::Error>;

/// A chart of `f64` against `f64` on an SVG.
type TimeChart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

const QUOTA: RGBColor = RGBColor(0xC0, 0x1C, 0x28);

/// The colour of a phase, as the page's legend and tables use it too.
pub fn phase_color(phase: Phase) -> RGBColor {
    match phase {
        Phase::Done => RGBColor(0x00, 0x9E, 0x73),
        Phase::Skipped => RGBColor(0x80, 0x80, 0x80),
        Phase::Deferred => RGBColor(0xCC, 0x79, 0xA7),
        Phase::Failed => RGBColor(0xD5, 0x5E, 0x00),
        Phase::Polling => RGBColor(0x56, 0xB4, 0xE9),
        Phase::Starting => RGBColor(0xE6, 0x9F, 0x00),
        Phase::Pending => RGBColor(0xC8, 0xC8, 0xC8),
    }
}

/// `#rrggbb` of a colour.
pub fn hex(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

/// A time since the run's start for an axis: `0s`, `1.5s`, `45s`, `2m`, `2m30s`, `1h05m`.
pub fn offset(ms: EpochMillis) -> String {
    let ms = ms.max(0);
    if ms < 60 * SECOND && ms % SECOND >= 50 && ms % SECOND < 950 {
        return format!("{:.1}s", ms as f64 / SECOND as f64);
    }
    let s = (ms + SECOND / 2) / SECOND;
    match s {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 && s % 60 == 0 => format!("{}m", s / 60),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// An axis value: whole numbers on an axis that goes past 4, tenths below.
fn number(v: f64, axis_max: f64) -> String {
    if axis_max > 4.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// A chart whose x axis is the time since the run began (in seconds) and whose y axis counts
/// `y_desc` from 0 to `y.0`, its labels with the precision an axis up to `y.1` needs.
fn over_time<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    caption: &str,
    x_max: f64,
    y: (f64, f64),
    y_desc: &str,
) -> Result<TimeChart<'a, 'b>, Drawing> {
    let (y_top, y_scale) = y;
    let mut chart = ChartBuilder::on(root)
        .caption(caption, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(44)
        .build_cartesian_2d(0f64..x_max, 0f64..y_top)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .x_labels(10)
        .y_labels(6)
        .x_label_formatter(&|v| offset((*v * SECOND as f64) as EpochMillis))
        .y_label_formatter(&|v| number(*v, y_scale))
        .y_desc(y_desc)
        .draw()?;
    Ok(chart)
}

/// Draws on an SVG of `height` and returns it ready to sit inside HTML: no `xmlns` (HTML
/// puts an `<svg>` in its namespace), no fixed size (the `viewBox` keeps its proportions),
/// labelled for screen readers.
fn svg(
    height: u32,
    label: &str,
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Result<(), Drawing>,
) -> String {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, height)).into_drawing_area();
        let drawn = root.fill(&WHITE).and_then(|()| draw(&root));
        if let Err(e) = drawn {
            tracing::warn!("a chart could not be drawn: {e}");
        }
        let _ = root.present();
    }
    let head = format!(
        r#"<svg width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">"#
    );
    let label = super::escape(label);
    out.replacen(
        &head,
        &format!(r#"<svg viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{label}">"#),
        1,
    )
}

/// Calls per second of one operation, a line per account and region, with the quota as a
/// dashed line. `width`: the bins' width; `span`: the run's length.
pub fn calls(
    operation: &str,
    series: &[&Rates],
    width: EpochMillis,
    span: EpochMillis,
    quota: f64,
) -> String {
    let x_max = (span.max(SECOND) as f64) / SECOND as f64;
    let peak = series
        .iter()
        .flat_map(|r| r.per_second.iter().copied())
        .fold(0.0_f64, f64::max);
    let y_max = (peak.max(quota) * 1.25).ceil();
    svg(260, &format!("{operation} calls per second"), |root| {
        let caption = format!("{operation} calls per second");
        let mut chart = over_time(root, &caption, x_max, (y_max, y_max), "calls/s")?;
        for (i, r) in series.iter().enumerate() {
            let color = PLACES[i % PLACES.len()];
            let step = width as f64 / SECOND as f64;
            let points: Vec<(f64, f64)> = r
                .per_second
                .iter()
                .enumerate()
                .flat_map(|(b, v)| [(b as f64 * step, *v), ((b as f64 + 1.0) * step, *v)])
                .map(|(x, v)| (x.min(x_max), v))
                .collect();
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))?
                .label(r.place.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
        }
        chart
            .draw_series(DashedLineSeries::new(
                vec![(0.0, quota), (x_max, quota)],
                8,
                5,
                QUOTA.stroke_width(2),
            ))?
            .label(format!("quota: {quota}/s per account and region"))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], QUOTA.stroke_width(2)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .label_font(("sans-serif", 13))
            .draw()?;
        Ok(())
    })
}

/// Streams by phase over the run, stacked (done at the bottom, pending on top).
pub fn phases(series: &PhaseSeries, start: EpochMillis) -> String {
    let x = |t: EpochMillis| (t - start) as f64 / SECOND as f64;
    let x_max = series.at.last().map_or(1.0, |t| x(*t)).max(1.0);
    let total = (0..series.at.len())
        .map(|i| series.counts.iter().map(|c| c[i]).sum::<u32>())
        .max()
        .unwrap_or(0)
        .max(1);
    svg(300, "Streams by phase over the run", |root| {
        let top = (total as f64 * 1.05).ceil();
        let mut chart = over_time(
            root,
            "Streams by phase",
            x_max,
            (top, total as f64),
            "streams",
        )?;
        // Each layer drawn from 0 to its cumulative height, the highest first, so that each
        // lower one covers it up to its own.
        let mut cumulative = vec![vec![0u32; series.at.len()]; PHASES.len()];
        for i in 0..series.at.len() {
            let mut sum = 0;
            for (k, counts) in series.counts.iter().enumerate() {
                sum += counts[i];
                cumulative[k][i] = sum;
            }
        }
        for k in (0..PHASES.len()).rev() {
            let color = phase_color(PHASES[k]);
            let points: Vec<(f64, f64)> = series
                .at
                .iter()
                .zip(&cumulative[k])
                .map(|(t, c)| (x(*t), f64::from(*c)))
                .collect();
            // The legend is the page's, under the chart: here it would hide the run's start.
            chart.draw_series(AreaSeries::new(points, 0.0, color.filled()))?;
        }
        Ok(())
    })
}

/// How many streams took each span of time from Start to ENABLED.
pub fn histogram(durations: &[EpochMillis], step: EpochMillis) -> String {
    let step = step.max(1);
    let bins = durations.iter().map(|d| d / step).max().unwrap_or(0) as usize + 1;
    let mut counts = vec![0u32; bins];
    for d in durations {
        counts[(d / step) as usize] += 1;
    }
    let y_max = f64::from(counts.iter().copied().max().unwrap_or(0).max(1)) * 1.15;
    let to_x = |ms: EpochMillis| ms as f64 / SECOND as f64;
    svg(
        260,
        "Time from Start to ENABLED, streams per span",
        |root| {
            let x_max = to_x(step * bins as i64);
            let caption = "Time from Start to ENABLED";
            let mut chart = over_time(root, caption, x_max, (y_max.ceil(), y_max), "streams")?;
            let fill = phase_color(Phase::Done);
            chart.draw_series(counts.iter().enumerate().filter(|(_, c)| **c > 0).map(
                |(i, c)| {
                    let x0 = to_x(step * i as i64);
                    let x1 = to_x(step * (i as i64 + 1));
                    Rectangle::new([(x0, 0.0), (x1, f64::from(*c))], fill.filled())
                },
            ))?;
            Ok(())
        },
    )
}

/// One customer key's streams before and after the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUse {
    pub label: String,
    pub before: u32,
    pub after: u32,
}

/// Each key's streams before (light) and after (dark) against `limit` (dashed); `legend` names
/// the two (the run's "before the run", a plan's "now").
pub fn keys(keys: &[KeyUse], limit: u32, legend: [&str; 2]) -> String {
    let n = keys.len().max(1);
    let x_max = keys
        .iter()
        .map(|k| k.before.max(k.after))
        .max()
        .unwrap_or(0)
        .max(limit) as f64
        * 1.08;
    let height = 90 + 46 * n as u32;
    svg(
        height,
        "Streams per customer-managed key against the limit",
        |root| {
            let mut chart = ChartBuilder::on(root)
                .caption("Streams per customer-managed key", ("sans-serif", 18))
                .margin(12)
                .x_label_area_size(32)
                .y_label_area_size(12)
                .build_cartesian_2d(0f64..x_max, 0f64..n as f64)?;
            chart
                .configure_mesh()
                .light_line_style(TRANSPARENT)
                .disable_y_axis()
                .disable_y_mesh()
                .x_labels(10)
                .x_label_formatter(&|v| number(*v, x_max))
                .x_desc("streams")
                .draw()?;
            let light = RGBColor(0x9C, 0xC7, 0xE8);
            let dark = RGBColor(0x00, 0x72, 0xB2);
            for (i, k) in keys.iter().enumerate() {
                // The first key at the top.
                let y = (n - 1 - i) as f64;
                chart.draw_series([
                    Rectangle::new(
                        [(0.0, y + 0.52), (f64::from(k.before), y + 0.7)],
                        light.filled(),
                    ),
                    Rectangle::new(
                        [(0.0, y + 0.3), (f64::from(k.after), y + 0.5)],
                        dark.filled(),
                    ),
                ])?;
                chart.draw_series(std::iter::once(Text::new(
                    format!("{}: {} → {}", k.label, k.before, k.after),
                    (x_max * 0.005, y + 0.95),
                    ("sans-serif", 13).into_font().color(&BLACK),
                )))?;
            }
            // Legend entries only: nothing more to draw.
            for (label, color) in [(legend[0], light), (legend[1], dark)] {
                chart
                    .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())?
                    .label(label)
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.filled())
                    });
            }
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(f64::from(limit), 0.0), (f64::from(limit), n as f64)],
                    8,
                    5,
                    QUOTA.stroke_width(2),
                ))?
                .label(format!("limit: {limit} streams per key"))
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], QUOTA.stroke_width(2))
                });
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.4))
                .label_font(("sans-serif", 13))
                .draw()?;
            Ok(())
        },
    )
}

/// The colour of a plan's action, as the plan page's tables and legends use it too.
pub fn action_color(action: Action) -> RGBColor {
    match action {
        Action::Enable => RGBColor(0x00, 0x9E, 0x73),
        Action::Rekey => RGBColor(0xE6, 0x9F, 0x00),
        Action::Disable => RGBColor(0xD5, 0x5E, 0x00),
        Action::Restore => RGBColor(0xCC, 0x79, 0xA7),
        Action::Noop => RGBColor(0xC8, 0xC8, 0xC8),
        Action::Skip => RGBColor(0x80, 0x80, 0x80),
        Action::Defer => RGBColor(0x56, 0xB4, 0xE9),
    }
}

/// One bar of [`actions`]: a place and its streams per action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionBar {
    pub label: String,
    pub counts: Vec<(Action, usize)>,
}

/// Each account and region's streams by action, as stacked horizontal bars (the first place
/// at the top).
pub fn actions(bars: &[ActionBar]) -> String {
    let n = bars.len().max(1);
    let x_max = bars
        .iter()
        .map(|b| b.counts.iter().map(|(_, c)| c).sum::<usize>())
        .max()
        .unwrap_or(0)
        .max(1) as f64
        * 1.08;
    let height = 100 + 40 * n as u32;
    svg(
        height,
        "Streams by action in each account and region",
        |root| {
            let mut chart = ChartBuilder::on(root)
                .caption(
                    "Streams by action, per account and region",
                    ("sans-serif", 18),
                )
                .margin(12)
                .x_label_area_size(32)
                .y_label_area_size(12)
                .build_cartesian_2d(0f64..x_max, 0f64..n as f64)?;
            chart
                .configure_mesh()
                .light_line_style(TRANSPARENT)
                .disable_y_axis()
                .disable_y_mesh()
                .x_labels(10)
                .x_label_formatter(&|v| number(*v, x_max))
                .x_desc("streams")
                .draw()?;
            for (i, bar) in bars.iter().enumerate() {
                let y = (n - 1 - i) as f64;
                let mut from = 0.0;
                for (action, count) in &bar.counts {
                    let to = from + *count as f64;
                    chart.draw_series(std::iter::once(Rectangle::new(
                        [(from, y + 0.15), (to, y + 0.55)],
                        action_color(*action).filled(),
                    )))?;
                    from = to;
                }
                chart.draw_series(std::iter::once(Text::new(
                    bar.label.clone(),
                    (x_max * 0.005, y + 0.9),
                    ("sans-serif", 13).into_font().color(&BLACK),
                )))?;
            }
            // The legend is the page's, beside the chart.
            Ok(())
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_inline_svg_naming_no_url() {
        let svg = histogram(&[1_000, 2_500, 2_600, 9_000], 1_000);
        assert!(
            svg.starts_with("<svg viewBox=\"0 0 960 260\" role=\"img\""),
            "{}",
            &svg[..200]
        );
        assert!(!svg.contains("http"), "{svg}");
        assert!(svg.contains("<rect"));
        let keys = keys(
            &[KeyUse {
                label: "key/a".into(),
                before: 3,
                after: 7,
            }],
            500,
            ["before the run", "after the run"],
        );
        assert!(keys.contains("key/a: 3 → 7"), "{keys}");
        assert!(!keys.contains("http"));
    }

    #[test]
    fn offsets_read_as_durations() {
        assert_eq!(offset(0), "0s");
        assert_eq!(offset(45_000), "45s");
        assert_eq!(offset(1_500), "1.5s");
        assert_eq!(offset(2_999), "3s");
        assert_eq!(offset(120_000), "2m");
        assert_eq!(offset(150_000), "2m30s");
        assert_eq!(offset(3_900_000), "1h05m");
    }
}
