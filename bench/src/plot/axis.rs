//! An axis with the key points the plot chose ([`super::ticks`]) instead of plotters' own.
//!
//! plotters' `with_key_points` keeps the inner coordinate's `NoDefaultFormatting`, and for
//! `f64` that leaves the axis without a `ValueFormatter`, so `configure_mesh` refuses it.
//! This wrapper declares `DefaultFormatting`; the labels still come from the panel's own
//! `y_label_formatter`/`x_label_formatter`, never from `Debug`.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::prelude::Ranged;

/// `inner`'s mapping from values to pixels, with `ticks` as its labelled key points.
pub struct Ticked<R> {
    inner: R,
    ticks: Vec<f64>,
}

impl<R: Ranged<ValueType = f64>> Ticked<R> {
    /// Label `inner` at `ticks` (values of the axis; those outside its range are not drawn).
    pub fn new(inner: R, ticks: Vec<f64>) -> Self {
        Ticked { inner, ticks }
    }
}

impl<R: Ranged<ValueType = f64>> Ranged for Ticked<R> {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Light (unlabelled) grid lines would be plotters' own choice again: none.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.inner.range()
    }

    fn axis_pixel_range(&self, limit: (i32, i32)) -> Range<i32> {
        self.inner.axis_pixel_range(limit)
    }
}
