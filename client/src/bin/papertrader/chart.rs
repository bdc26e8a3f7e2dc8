//! The terminal chart of `papertrader history`: closing prices as a filled
//! area, Unicode eighth blocks (or `#` in ASCII), the highest and lowest
//! close on the y axis and the first and last bar's date on the x axis.
//! Pure text in, text out, so it is tested without a terminal.

use papertrader_common::value::Money;

use crate::output::{Output, human_money, percent, signed_money};

/// Rows of the plot area.
pub const HEIGHT: usize = 14;

/// Eighths of a cell, from one eighth to a full block.
const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The chart of `closes` (oldest first) in `width` columns, `first` and
/// `last` labelling the ends of the x axis. One line per element.
pub fn render(
    closes: &[Money],
    first: &str,
    last: &str,
    width: usize,
    unicode: bool,
) -> Vec<String> {
    let Some(&min) = closes.iter().min() else {
        return Vec::new();
    };
    let max = closes.iter().max().copied().unwrap_or(min);
    let (top, bottom) = (human_money(max), human_money(min));
    let label_width = top.len().max(bottom.len());
    // label, space, axis, plot
    let plot_width = width.saturating_sub(label_width + 2).max(8);
    let columns = resample(closes, plot_width);
    let levels: Vec<usize> = columns.iter().map(|&c| level(c, min, max)).collect();

    let mut lines = Vec::with_capacity(HEIGHT + 2);
    for row in (0..HEIGHT).rev() {
        let label = match row {
            r if r == HEIGHT - 1 => top.as_str(),
            0 => bottom.as_str(),
            _ => "",
        };
        let axis = if unicode { '┤' } else { '|' };
        let mut line = format!("{label:>label_width$} {axis}");
        for &l in &levels {
            line.push(cell(l, row, unicode));
        }
        lines.push(line.trim_end().to_string());
    }
    let (corner, rule) = if unicode { ('└', '─') } else { ('+', '-') };
    let rule: String = std::iter::repeat_n(rule, columns.len()).collect();
    lines.push(format!("{:label_width$} {corner}{rule}", ""));
    let gap = (columns.len() + 1)
        .saturating_sub(first.len() + last.len())
        .max(1);
    let x_labels = if first == last {
        first.to_string()
    } else {
        format!("{first}{}{last}", " ".repeat(gap))
    };
    lines.push(format!("{:label_width$} {x_labels}", ""));
    lines
}

/// `closes` stretched or squeezed to `width` columns: each column shows the
/// last close of the bars it covers.
fn resample(closes: &[Money], width: usize) -> Vec<Money> {
    let n = closes.len();
    if n == 0 || width == 0 {
        return Vec::new();
    }
    (0..width)
        .map(|col| {
            // The last bar whose start falls in this column.
            let end = ((col + 1) * n).div_ceil(width).clamp(1, n);
            closes[end - 1]
        })
        .collect()
}

/// Height of a column in eighths of a cell, 1..=HEIGHT*8; a flat series sits
/// in the middle.
fn level(close: Money, min: Money, max: Money) -> usize {
    let full = (HEIGHT * 8) as i128;
    if max == min {
        return (HEIGHT * 8) / 2;
    }
    let span = i128::from(max.raw()) - i128::from(min.raw());
    let above = i128::from(close.raw()) - i128::from(min.raw());
    (1 + above * (full - 1) / span) as usize
}

/// The character of a column of height `level` at `row` (0 = bottom).
fn cell(level: usize, row: usize, unicode: bool) -> char {
    let floor = row * 8;
    if level >= floor + 8 {
        if unicode { BLOCKS[7] } else { '#' }
    } else if level > floor {
        let eighths = level - floor;
        match unicode {
            true => BLOCKS[eighths - 1],
            false if eighths >= 4 => '#',
            false => '.',
        }
    } else {
        ' '
    }
}

/// A chart title's `FIRST -> LAST  CHANGE (PCT%)`, the change coloured
/// by `out`.
pub fn movement(out: &Output, first: Money, last: Money) -> String {
    let change = Money(last.raw().saturating_sub(first.raw()));
    let mut text = signed_money(change, true);
    if let Some(pct) = percent(change, first) {
        text.push_str(&format!(" ({pct}%)"));
    }
    let change = out.gain(&text, change.raw());
    format!("{} -> {}  {change}", human_money(first), human_money(last))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(units: i64) -> Money {
        Money(units * 10_000)
    }

    #[test]
    fn resamples_to_the_width() {
        let closes: Vec<Money> = (1..=10).map(m).collect();
        assert_eq!(resample(&closes, 5), vec![m(2), m(4), m(6), m(8), m(10)]);
        assert_eq!(resample(&closes[..2], 4), vec![m(1), m(1), m(2), m(2)]);
        assert_eq!(resample(&[], 4), Vec::<Money>::new());
    }

    #[test]
    fn levels_span_the_height() {
        assert_eq!(level(m(1), m(1), m(9)), 1);
        assert_eq!(level(m(9), m(1), m(9)), HEIGHT * 8);
        assert_eq!(level(m(5), m(5), m(5)), HEIGHT * 4);
    }

    #[test]
    fn ascii_chart_has_labels_and_axes() {
        let closes = [m(100), m(110), m(105), m(120)];
        let lines = render(&closes, "2026-11-14", "2026-11-20", 40, false);
        assert_eq!(lines.len(), HEIGHT + 2);
        assert!(lines[0].starts_with("120.0000 |"), "{}", lines[0]);
        assert!(lines[HEIGHT - 1].starts_with("100.0000 |"));
        assert!(lines[HEIGHT].starts_with("         +---"));
        assert!(lines[HEIGHT + 1].trim_start().starts_with("2026-11-14"));
        assert!(lines[HEIGHT + 1].ends_with("2026-11-20"));
        assert!(lines.iter().all(|l| l.chars().count() <= 40), "{lines:#?}");
        // The last column reaches the top, the first only the bottom row.
        assert!(lines[0].ends_with('#'));
        assert_eq!(lines[HEIGHT - 1].chars().nth(10), Some('.'));
        assert_eq!(lines[HEIGHT - 2].chars().nth(10), Some(' '));
    }

    #[test]
    fn unicode_chart_uses_blocks() {
        let closes = [m(1), m(2)];
        let lines = render(&closes, "a", "b", 30, true);
        assert!(lines[0].contains('█'));
        assert!(lines[HEIGHT - 1].contains('▁'));
        assert!(lines[HEIGHT].contains('└'));
        assert!(render(&[], "a", "b", 30, true).is_empty());
    }
}
