//! Axis ticks the plot picks itself, so every label is distinct: plotters' own key points
//! on a fractional range (0, 0.5, 1, 1.5 MiB ...) printed with `{:.0}` came out as
//! "0, 0, 1, 1, 2, 2 ...". Here the step is a 1-2-5 number and the labels carry exactly the
//! decimals that step needs.

/// Ticks for a linear axis from 0 to at least `max`: about `target` of them, a 1, 2 or 5
/// times a power of ten apart. Returns the ticks and the decimals their labels need.
pub fn linear(max: f64, target: usize) -> (Vec<f64>, usize) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let raw = max / target.max(1) as f64;
    let exp = raw.log10().floor();
    let mag = 10f64.powf(exp);
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|&s| s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * mag);
    // The decimals of the step itself: 0.5 needs 1, 0.02 needs 2, 5 and 50 000 need none.
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    // Multiply instead of accumulating so 0.1 + 0.1 + 0.1 drift cannot creep into a label.
    let ticks = (0..)
        .map(|i| i as f64 * step)
        .take_while(|&t| t <= max * (1.0 + 1e-9))
        .collect();
    (ticks, decimals)
}

/// Ticks for a log axis covering `lo..=hi` (both > 0): 1, 2 and 5 times each power of ten,
/// or only the powers of ten when the range spans more than three decades.
pub fn log(lo: f64, hi: f64) -> Vec<f64> {
    let (lo, hi) = if lo > 0.0 && hi >= lo && hi.is_finite() {
        (lo, hi)
    } else {
        (1.0, 10.0)
    };
    let first = lo.log10().floor() as i32;
    let last = hi.log10().ceil() as i32;
    let mantissas: &[f64] = if last - first > 3 {
        &[1.0]
    } else {
        &[1.0, 2.0, 5.0]
    };
    (first..=last)
        .flat_map(|e| mantissas.iter().map(move |m| m * 10f64.powi(e)))
        .filter(|&t| t >= lo * (1.0 - 1e-9) && t <= hi * (1.0 + 1e-9))
        .collect()
}

/// A log-axis label: whole numbers from 1 up, else the decimals the value needs.
pub fn log_label(value: f64) -> String {
    if value >= 1.0 {
        format!("{value:.0}")
    } else {
        let decimals = (-value.log10().floor()).max(0.0) as usize;
        format!("{value:.decimals$}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn distinct(labels: &[String]) -> bool {
        let mut sorted = labels.to_vec();
        sorted.dedup();
        sorted.len() == labels.len()
    }

    #[test]
    fn fractional_mib_ticks_get_distinct_labels() {
        // The RSS panel's range: a 4.6 MiB peak (x 1.1 headroom).
        for max in [0.43, 1.0, 4.6 * 1.1, 5.06, 17.3, 151_017.0 * 1.1] {
            let (ticks, decimals) = linear(max, 6);
            let labels: Vec<String> = ticks.iter().map(|t| format!("{t:.decimals$}")).collect();
            assert!(distinct(&labels), "max {max}: {labels:?}");
            assert!((3..=11).contains(&ticks.len()), "max {max}: {labels:?}");
            assert!(*ticks.last().unwrap() <= max);
        }
        let (ticks, decimals) = linear(4.6, 10);
        assert_eq!(decimals, 1);
        assert_eq!(ticks[1], 0.5);
        // What the old `{:.0}` formatter made of those ticks: the bug this module fixes.
        let old: Vec<String> = ticks.iter().map(|t| format!("{t:.0}")).collect();
        assert!(!distinct(&old));
    }

    #[test]
    fn log_ticks_are_distinct_and_in_range() {
        for (lo, hi) in [(30.0, 70_000.0), (55.0, 1300.0), (0.04, 3.0), (8.0, 9.0)] {
            let ticks = log(lo, hi);
            let labels: Vec<String> = ticks.iter().map(|&t| log_label(t)).collect();
            assert!(distinct(&labels), "{lo}..{hi}: {labels:?}");
            assert!(ticks.iter().all(|&t| t >= lo && t <= hi), "{labels:?}");
        }
        assert_eq!(log(55.0, 1300.0), [100.0, 200.0, 500.0, 1000.0]);
        assert_eq!(log(30.0, 70_000.0), [100.0, 1000.0, 10_000.0]);
        assert_eq!(log_label(0.05), "0.05");
    }

    #[test]
    fn degenerate_ranges_still_give_ticks() {
        assert!(!linear(0.0, 6).0.is_empty());
        assert!(!linear(f64::NAN, 6).0.is_empty());
        assert!(log(-1.0, 0.0).len() >= 2);
    }
}
