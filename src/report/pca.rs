//! Principal component analysis by our own code: the covariance of the centred rows, then its
//! eigenvectors by cyclic Jacobi rotations (exact for a symmetric matrix, no dependency).

use ndarray::{Array2, ArrayView2, Axis};

/// The principal axes of a set of rows.
#[derive(Clone, Debug)]
pub struct Pca {
    /// The mean row, `(d,)`.
    pub mean: Vec<f64>,
    /// Unit axes, one per row of `(d, d)`, ordered by decreasing variance.
    pub axes: Array2<f64>,
    /// The variance of the data along each axis (the covariance's eigenvalues), decreasing.
    pub variances: Vec<f64>,
}

impl Pca {
    /// Fits `rows: (N, d)`, N ≥ 2. Each axis's sign is chosen so its largest entry is positive,
    /// which makes the picture the same from run to run.
    pub fn fit(rows: ArrayView2<f32>) -> Pca {
        let (n, d) = rows.dim();
        let data = rows.mapv(f64::from);
        let mean = data
            .mean_axis(Axis(0))
            .unwrap_or_else(|| ndarray::Array1::zeros(d));
        let centred = &data - &mean;
        let covariance = centred.t().dot(&centred) / (n.max(2) - 1) as f64;
        let (values, vectors) = jacobi_eigen(covariance);
        let mut order: Vec<usize> = (0..d).collect();
        order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
        let mut axes = Array2::zeros((d, d));
        for (k, &i) in order.iter().enumerate() {
            let column = vectors.column(i);
            let largest = column
                .iter()
                .copied()
                .fold(0.0_f64, |m, v| if v.abs() > m.abs() { v } else { m });
            let sign = if largest < 0.0 { -1.0 } else { 1.0 };
            axes.row_mut(k).assign(&column.mapv(|v| v * sign));
        }
        Pca {
            mean: mean.to_vec(),
            axes,
            variances: order.iter().map(|&i| values[i].max(0.0)).collect(),
        }
    }

    /// `row`'s coordinates on the first `k` axes.
    pub fn project(&self, row: &[f32], k: usize) -> Vec<f64> {
        (0..k)
            .map(|a| {
                self.axes
                    .row(a)
                    .iter()
                    .zip(row.iter().zip(&self.mean))
                    .map(|(w, (&x, m))| w * (x as f64 - m))
                    .sum()
            })
            .collect()
    }

    /// The fraction of the total variance on each axis.
    pub fn explained(&self) -> Vec<f64> {
        let total: f64 = self.variances.iter().sum();
        self.variances
            .iter()
            .map(|v| if total > 0.0 { v / total } else { 0.0 })
            .collect()
    }
}

/// Eigenvalues and eigenvectors (columns) of a symmetric matrix, by cyclic Jacobi rotations
/// until the off-diagonal part is negligible.
pub fn jacobi_eigen(mut a: Array2<f64>) -> (Vec<f64>, Array2<f64>) {
    let n = a.nrows();
    let mut v = Array2::eye(n);
    let scale: f64 = a
        .iter()
        .map(|x| x * x)
        .sum::<f64>()
        .sqrt()
        .max(f64::MIN_POSITIVE);
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[[i, j]] * a[[i, j]])
            .sum::<f64>()
            .sqrt();
        if off <= 1e-14 * scale {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[[p, q]];
                if apq.abs() <= 1e-300 {
                    continue;
                }
                // The rotation that zeroes a[p][q] (Golub & Van Loan, the symmetric Schur step).
                let theta = (a[[q, q]] - a[[p, p]]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[[k, p]], a[[k, q]]);
                    a[[k, p]] = c * akp - s * akq;
                    a[[k, q]] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[[p, k]], a[[q, k]]);
                    a[[p, k]] = c * apk - s * aqk;
                    a[[q, k]] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[[k, p]], v[[k, q]]);
                    v[[k, p]] = c * vkp - s * vkq;
                    v[[k, q]] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[[i, i]]).collect(), v)
}
