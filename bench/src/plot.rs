//! `results.svg`: throughput vs connections (left) and server peak RSS vs connections
//! (right), one line per variant, connections on a log axis.

use std::path::Path;

use plotters::prelude::*;

use crate::results::{CellResult, Report};

/// Line colours, one per variant in `--variants` order.
const COLOURS: [RGBColor; 6] = [
    RGBColor(214, 39, 40),   // red: corio (first by default)
    RGBColor(31, 119, 180),  // blue
    RGBColor(44, 160, 44),   // green
    RGBColor(127, 127, 127), // grey
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
];

/// One panel: a title, a y label, and how to read y from a cell.
struct Panel<'a> {
    title: &'a str,
    y_label: &'a str,
    value: &'a dyn Fn(&CellResult) -> Option<f64>,
}

/// Draw the two panels into an SVG file at `path`.
pub fn write_svg(report: &Report, path: &Path) -> Result<(), String> {
    let root = SVGBackend::new(path, (1100, 450)).into_drawing_area();
    let err = |e: &dyn std::fmt::Display| format!("plot {}: {e}", path.display());
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let (left, right) = root.split_horizontally(550);
    let panels = [
        Panel {
            title: &format!("{}: requests/s vs connections", report.workload),
            y_label: "requests / s",
            value: &|c| c.median.as_ref().map(|m| m.throughput_rps),
        },
        Panel {
            title: "server peak RSS vs connections",
            y_label: "peak RSS (MiB)",
            value: &|c| {
                c.median
                    .as_ref()
                    .and_then(|m| m.server_peak_rss_kib)
                    .map(|k| k as f64 / 1024.0)
            },
        },
    ];
    for (area, panel) in [left, right].iter().zip(&panels) {
        draw_panel(area, report, panel).map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    report: &Report,
    panel: &Panel<'_>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let max_conns = report
        .results
        .iter()
        .map(|c| c.conns)
        .max()
        .unwrap_or(1)
        .max(2) as f64;
    let max_y = report
        .results
        .iter()
        .filter_map(|c| (panel.value)(c))
        .fold(0.0f64, f64::max)
        .max(1.0)
        * 1.1;
    let mut chart = ChartBuilder::on(area)
        .caption(panel.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d((0.8f64..max_conns * 1.25).log_scale(), 0.0f64..max_y)?;
    chart
        .configure_mesh()
        .x_desc("connections (log)")
        .y_desc(panel.y_label)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
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
            .filter_map(|c| Some((c.conns as f64, (panel.value)(c)?)))
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
