//! `results.svg`, four panels with one line per variant and connections on a log axis:
//! throughput and p99 latency (top), server peak RSS and server heap+stacks (bottom).
//!
//! "Heap+stacks" is the server's `RssAnon` at the end of the window (`/proc/PID/status`:
//! anonymous resident pages — heap, thread stacks, anonymous mmaps), which is what the
//! server allocated; peak RSS (`VmHWM`) also counts the executable's touched code pages.

mod axis;
mod ticks;

use std::path::Path;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use axis::Ticked;

use crate::results::{CellResult, Report};

/// Line colours, one per variant in `--variants` order.
const COLOURS: [RGBColor; 7] = [
    RGBColor(214, 39, 40),   // red: corio (first by default)
    RGBColor(31, 119, 180),  // blue
    RGBColor(44, 160, 44),   // green
    RGBColor(127, 127, 127), // grey
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
];

/// About this many y ticks per linear panel.
const Y_TICKS: usize = 6;

/// How a panel's y axis is scaled.
#[derive(Clone, Copy, PartialEq)]
enum Scale {
    /// From 0, 1-2-5 steps.
    Linear,
    /// Whole decades (latency spans 30 µs to tens of ms across the sweep).
    Log,
}

/// One panel: a title, a y label, its scale, and how to read y from a cell.
struct Panel<'a> {
    title: &'a str,
    y_label: &'a str,
    scale: Scale,
    value: &'a dyn Fn(&CellResult) -> Option<f64>,
}

fn kib_to_mib(kib: Option<u64>) -> Option<f64> {
    kib.map(|k| k as f64 / 1024.0)
}

/// Draw the four panels into an SVG file at `path`.
pub fn write_svg(report: &Report, path: &Path) -> Result<(), String> {
    let root = SVGBackend::new(path, (1100, 900)).into_drawing_area();
    let err = |e: &dyn std::fmt::Display| format!("plot {}: {e}", path.display());
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let areas = root.split_evenly((2, 2));
    let panels = [
        Panel {
            title: &format!("{}: requests/s vs connections", report.workload),
            y_label: "requests / s",
            scale: Scale::Linear,
            value: &|c| c.median.as_ref().map(|m| m.throughput_rps),
        },
        Panel {
            title: "p99 latency vs connections",
            y_label: "p99 latency (µs, log)",
            scale: Scale::Log,
            value: &|c| c.median.as_ref().map(|m| m.p99_us),
        },
        Panel {
            title: "server peak RSS (VmHWM) vs connections",
            y_label: "peak RSS (MiB)",
            scale: Scale::Linear,
            value: &|c| kib_to_mib(c.median.as_ref()?.server_peak_rss_kib),
        },
        Panel {
            title: "server heap+stacks (RssAnon) vs connections",
            y_label: "anonymous RSS (MiB)",
            scale: Scale::Linear,
            value: &|c| kib_to_mib(c.median.as_ref()?.server_anon_rss_kib),
        },
    ];
    for (area, panel) in areas.iter().zip(&panels) {
        draw_panel(area, report, panel).map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))
}

/// The y range (in plotted units: log10 of the value on a log panel), its key points, and
/// the label of a plotted y.
struct YAxis {
    range: std::ops::Range<f64>,
    ticks: Vec<f64>,
    label: Box<dyn Fn(f64) -> String>,
}

fn y_axis(scale: Scale, values: &[f64]) -> YAxis {
    match scale {
        Scale::Linear => {
            let max = values.iter().copied().fold(0.0f64, f64::max);
            // 10 % headroom so the top point is not on the frame.
            let top = if max > 0.0 { max * 1.1 } else { 1.0 };
            let (ticks, decimals) = ticks::linear(top, Y_TICKS);
            YAxis {
                range: 0.0..top,
                ticks,
                label: Box::new(move |y| format!("{y:.decimals$}")),
            }
        }
        Scale::Log => {
            let positive = values.iter().copied().filter(|v| *v > 0.0);
            let lo = positive.clone().fold(f64::INFINITY, f64::min);
            let hi = positive.fold(0.0f64, f64::max);
            // Whole decades, so both ends are ticks and no panel is left without labels.
            let (lo, hi) = if lo.is_finite() && hi > 0.0 {
                (
                    10f64.powf(lo.log10().floor()),
                    10f64.powf(hi.log10().ceil()),
                )
            } else {
                (1.0, 10.0)
            };
            let hi = if hi > lo { hi } else { lo * 10.0 };
            YAxis {
                range: lo.log10()..hi.log10(),
                ticks: ticks::log(lo, hi).iter().map(|t| t.log10()).collect(),
                label: Box::new(|y| ticks::log_label(10f64.powf(y))),
            }
        }
    }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    report: &Report,
    panel: &Panel<'_>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let mut conns: Vec<usize> = report.results.iter().map(|c| c.conns).collect();
    conns.sort_unstable();
    conns.dedup();
    let max_conns = conns.last().copied().unwrap_or(1).max(2) as f64;
    let to_plot = |v: f64| match panel.scale {
        Scale::Linear => Some(v),
        // A zero latency has no place on a log axis; it is left out, not faked.
        Scale::Log => (v > 0.0).then(|| v.log10()),
    };
    let values: Vec<f64> = report
        .results
        .iter()
        .filter_map(|c| (panel.value)(c))
        .collect();
    let y = y_axis(panel.scale, &values);
    // The x ticks are the swept connection counts themselves.
    let x_ticks = conns.iter().map(|&c| c as f64).collect();
    let mut chart = ChartBuilder::on(area)
        .caption(panel.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(
            Ticked::new(
                LogCoord::from((0.8f64..max_conns * 1.25).log_scale()),
                x_ticks,
            ),
            Ticked::new(RangedCoordf64::from(y.range.clone()), y.ticks.clone()),
        )?;
    chart
        .configure_mesh()
        .x_desc("connections (log)")
        .y_desc(panel.y_label)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|v| (y.label)(*v))
        .draw()?;
    let mut variants: Vec<&str> = Vec::new();
    for cell in &report.results {
        if !variants.contains(&cell.variant.as_str()) {
            variants.push(&cell.variant);
        }
    }
    for (i, variant) in variants.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let points: Vec<(f64, f64)> = report
            .results
            .iter()
            .filter(|c| c.variant == *variant)
            .filter_map(|c| Some((c.conns as f64, to_plot((panel.value)(c)?)?)))
            .collect();
        if points.is_empty() {
            continue;
        }
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
            .label(*variant)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
            });
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}
