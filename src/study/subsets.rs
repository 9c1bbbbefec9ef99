//! The labelled subsets of a study: class-balanced, nested across budgets, and their label
//! noise, exact in count and never a label equal to the true one.

use ndarray_rand::rand::rngs::SmallRng;
use ndarray_rand::rand::seq::SliceRandom;
use ndarray_rand::rand::{Rng, SeedableRng};

/// Salts that give the subset draw and the noise draw streams of their own, apart from the
/// network's init (which `seed` itself seeds, as in `train`).
const SUBSET_SALT: u64 = 0x005a_b5e7_5eed;
const NOISE_SALT: u64 = 0x0000_015e_5eed;

/// The order in which a seed's labelled subsets take the training images: each class's
/// images in a seeded random order, then taken round-robin, one of class 0, one of class 1, …,
/// skipping a class once it runs out. The subset of budget `N` is the first `N` of this order,
/// so the 100 are inside the 300, and it holds exactly `N/C` images of each class whenever
/// every class has that many (on MNIST up to N = 54 210, 10 × the 5 421 fives); past that it
/// is as balanced as the data allows, and the whole order is the whole training set.
pub fn balanced_order(labels: &[u8], classes: usize, seed: u64) -> Vec<usize> {
    let mut rng = SmallRng::seed_from_u64(seed ^ SUBSET_SALT);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for (i, &label) in labels.iter().enumerate() {
        if let Some(list) = by_class.get_mut(usize::from(label)) {
            list.push(i);
        }
    }
    for list in &mut by_class {
        list.shuffle(&mut rng);
    }
    let longest = by_class.iter().map(Vec::len).max().unwrap_or(0);
    (0..longest)
        .flat_map(|k| by_class.iter().filter_map(move |list| list.get(k).copied()))
        .collect()
}

/// A seed's label noise over the positions of [`balanced_order`]: each position's rank in a
/// seeded random order and the wrong label it gets when it is mislabelled, a uniformly drawn
/// class other than its true one. Positions come in blocks of `C` (one image of each class,
/// as [`balanced_order`] deals them); block `b` mislabels `round(p·(b+1)·C) − round(p·b·C)` of
/// its positions, those of lowest rank in it. So:
/// - the first `n` positions hold exactly `round(p·n)` wrong labels, for any `n`;
/// - **nested across budgets**: for budgets that are multiples of `C` (the study's), the
///   mislabelled images of the 100 are mislabelled, with the same wrong labels, in the 300;
/// - across rates, a higher rate mislabels a superset whenever no block's count falls (true
///   of 0, 0.1, 0.2, 0.25, 0.4, 0.9 with 10 classes; it cannot hold for every pair of rates
///   while every count is exact and budgets nest).
pub struct Noise {
    rank: Vec<usize>,
    wrong: Vec<u8>,
    /// `C`, the block size.
    block: usize,
}

impl Noise {
    /// The noise of `seed` over `true_labels`, the labels of [`balanced_order`]'s positions.
    pub fn new(true_labels: &[u8], classes: usize, seed: u64) -> Noise {
        let mut rng = SmallRng::seed_from_u64(seed ^ NOISE_SALT);
        let mut by_rank: Vec<usize> = (0..true_labels.len()).collect();
        by_rank.shuffle(&mut rng);
        let mut rank = vec![0; true_labels.len()];
        for (r, &position) in by_rank.iter().enumerate() {
            rank[position] = r;
        }
        let others = classes.max(2) - 1;
        let wrong = true_labels
            .iter()
            .map(|&label| {
                // One of the other classes, uniformly: label + 1 … label + C − 1 (mod C).
                let shift = 1 + rng.random_range(0..others);
                ((usize::from(label) + shift) % classes.max(2)) as u8
            })
            .collect();
        Noise {
            rank,
            wrong,
            block: classes.max(1),
        }
    }

    /// The number of labels a budget of `n` gets wrong at rate `p`: round(p·n).
    pub fn count(n: usize, p: f64) -> usize {
        (p * n as f64).round() as usize
    }

    /// The labels of the first `true_labels.len()` positions at rate `p`: in each block, its
    /// share of [`Noise::count`] at the lowest ranks replaced by their wrong labels.
    pub fn apply(&self, true_labels: &[u8], p: f64) -> Vec<u8> {
        let n = true_labels.len();
        let mut labels = true_labels.to_vec();
        for start in (0..n).step_by(self.block) {
            let end = (start + self.block).min(n);
            // Telescoping: the blocks' shares add up to round(p·n) exactly.
            let share = Noise::count(end, p) - Noise::count(start, p);
            let mut block: Vec<usize> = (start..end).collect();
            block.sort_unstable_by_key(|&i| self.rank[i]);
            for &i in block.iter().take(share) {
                labels[i] = self.wrong[i];
            }
        }
        labels
    }
}

/// The labelled subsets of one seed: the positions of [`balanced_order`], their true labels
/// and their noise.
pub struct Subsets {
    /// Training-image indices, in the order budgets take them.
    pub order: Vec<usize>,
    /// Their true labels.
    pub labels: Vec<u8>,
    /// Their noise.
    pub noise: Noise,
}

impl Subsets {
    /// The subsets `seed` draws from `labels`.
    pub fn new(labels: &[u8], classes: usize, seed: u64) -> Subsets {
        let order = balanced_order(labels, classes, seed);
        let labels: Vec<u8> = order.iter().map(|&i| labels[i]).collect();
        let noise = Noise::new(&labels, classes, seed);
        Subsets {
            order,
            labels,
            noise,
        }
    }

    /// The `n` training images of a budget and their labels at noise rate `p`.
    pub fn take(&self, n: usize, p: f64) -> (&[usize], Vec<u8>) {
        (&self.order[..n], self.noise.apply(&self.labels[..n], p))
    }
}
