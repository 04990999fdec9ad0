//! The size plot under the matrix: each platform's compressed size across the visible tags in
//! version order, from the rows the matrix already read (no request of its own). Computed only
//! while the plot is open, and again only when the visible rows change.

use crate::model::diff::SizePoint;

use super::matrix::Derived;

/// How much a size must grow over the previous tag's to be marked, in percent.
pub const JUMP_PERCENT: f64 = 10.0;

/// One platform's line.
#[derive(Debug, Clone, PartialEq)]
pub struct SizeLine {
    pub platform: String,
    /// The platform's place among the matrix's columns (its colour).
    pub column: usize,
    /// (x: the tag's place in [`SizePlot::tags`], the point).
    pub points: Vec<(usize, SizePoint)>,
}

/// The plot's data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SizePlot {
    /// The tags with any size, oldest first: the x axis.
    pub tags: Vec<String>,
    /// When each tag was last pushed, where the source says (Docker Hub's API).
    pub pushed: Vec<Option<String>>,
    pub lines: Vec<SizeLine>,
    /// The derived view's generation, the load and the rows' revision it was computed for.
    key: Option<(u64, crate::protocol::RequestId, u64)>,
}

impl SizePlot {
    /// Bring the plot up to date with the visible rows of `m`.
    pub fn update(&mut self, mv: &super::matrix::MatrixView, derived: &Derived) {
        let key = Some((derived.generation, mv.epoch, mv.revision));
        if self.key == key {
            return;
        }
        let m = &mv.matrix;
        let rows = derived.visible.iter().filter_map(|&i| m.rows.get(i));
        let series = crate::model::diff::size_series(rows, JUMP_PERCENT);
        // The x axis: every tag that has a size on some platform, in version order.
        let mut tags: Vec<&str> = series.values().flatten().map(|p| p.tag.as_str()).collect();
        tags.sort_by_cached_key(|t| crate::model::matrix::VersionKey::new(t));
        tags.dedup();
        let place: std::collections::HashMap<&str, usize> = tags.iter().enumerate().map(|(i, t)| (*t, i)).collect();
        let keys = m.keys();
        let lines: Vec<SizeLine> = series
            .iter()
            .map(|(platform, points)| SizeLine {
                platform: platform.clone(),
                column: keys.iter().position(|k| k == platform).unwrap_or(0),
                points: points.iter().filter_map(|p| place.get(p.tag.as_str()).map(|&x| (x, p.clone()))).collect(),
            })
            .collect();
        let mut pushed = vec![None; tags.len()];
        for (x, p) in lines.iter().flat_map(|l: &SizeLine| &l.points) {
            if let (Some(slot), Some(when)) = (pushed.get_mut(*x), &p.pushed) {
                *slot = Some(when.clone());
            }
        }
        *self = SizePlot { tags: tags.into_iter().map(str::to_string).collect(), pushed, lines, key };
    }

    /// The tag at x (rounded to the nearest tag), for a click on the plot.
    pub fn tag_at(&self, x: f64) -> Option<&str> {
        if !x.is_finite() || x < -0.5 {
            return None;
        }
        self.tags.get(x.round() as usize).map(String::as_str)
    }
}
