//! What a study runs: the methods it compares, and the protocol they all share.

use crate::error::Error;
use crate::train::Schedule;

/// The four ways of training the classifier a study compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// Stage 1 pretrained as the autoencoder on all images, frozen; stage 2 on the labels.
    Autoencoder,
    /// Stage 1 frozen at its random init; stage 2 on the labels.
    Random,
    /// The whole network end to end on the labels, from its random init.
    Supervised,
    /// `Autoencoder`, then both stages fine-tuned end to end on the labels.
    Finetune,
}

impl Method {
    /// All four, in the order tables list them.
    pub const ALL: [Method; 4] = [
        Method::Autoencoder,
        Method::Random,
        Method::Supervised,
        Method::Finetune,
    ];

    /// `autoencoder`, `random`, `supervised`, `finetune`.
    pub fn name(self) -> &'static str {
        match self {
            Method::Autoencoder => "autoencoder",
            Method::Random => "random",
            Method::Supervised => "supervised",
            Method::Finetune => "finetune",
        }
    }

    /// The method called `name`.
    pub fn from_name(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Whether it needs the autoencoder's stage 1.
    pub fn pretrained(self) -> bool {
        matches!(self, Method::Autoencoder | Method::Finetune)
    }
}

/// Everything that decides a study.
#[derive(Clone, Debug)]
pub struct Protocol {
    /// Label budgets `N`, each a multiple of the number of classes.
    pub budgets: Vec<usize>,
    /// Label-noise rates, each in `[0, 1)`.
    pub noise: Vec<f64>,
    /// One run of every method, budget and rate per seed.
    pub seeds: Vec<u64>,
    /// The methods compared.
    pub methods: Vec<Method>,
    /// Examples per batch, in every stage.
    pub batch_size: usize,
    /// Adam's learning rate for the autoencoder and the classifiers.
    pub lr: f64,
    /// Adam's learning rate while `finetune` trains end to end.
    pub finetune_lr: f64,
    /// Epochs of the autoencoder over all training images.
    pub pretrain_epochs: usize,
    /// The step rule: at least this many epochs over the labelled subset …
    pub min_epochs: usize,
    /// … and at least this many steps.
    pub min_steps: usize,
}

impl Default for Protocol {
    /// The study of the issue: 6 budgets × 4 methods × 3 seeds, no noise; the reference
    /// script's batch size, learning rate and 5 autoencoder epochs.
    fn default() -> Protocol {
        let schedule = Schedule::default();
        Protocol {
            budgets: vec![100, 300, 1000, 3000, 10000, 60000],
            noise: vec![0.0],
            seeds: vec![0, 1, 2],
            methods: Method::ALL.to_vec(),
            batch_size: schedule.batch_size,
            lr: schedule.lr,
            finetune_lr: schedule.finetune_lr,
            pretrain_epochs: schedule.stage1_epochs,
            min_epochs: 5,
            min_steps: 3000,
        }
    }
}

impl Protocol {
    /// The Adam steps of every classifier at a budget of `n`:
    /// `max(min_epochs · ⌈n / batch⌉, min_steps)`.
    ///
    /// Why this rule: `min_epochs` (5) is the reference script's stage-2 schedule, so with all
    /// 60 000 labels every classifier trains as `train` does (9 375 steps). With few labels 5
    /// epochs are a handful of steps (16 at N = 100), too few for any classifier to fit its
    /// subset, which would measure how fast a method starts, not what it learns; `min_steps`
    /// (3 000, 960 epochs at N = 100) is enough for each method's training loss to level off at
    /// every budget below 10 000, while a whole end-to-end run stays about a second. The rule
    /// depends on `n` only, never on the method, the noise or any measurement.
    pub fn steps(&self, n: usize) -> usize {
        (self.min_epochs * n.div_ceil(self.batch_size.max(1))).max(self.min_steps)
    }

    /// Checks the protocol against a training set of `train_len` images in `classes` classes.
    ///
    /// # Errors
    /// [`Error::Schedule`] naming the field at fault.
    pub fn check(&self, train_len: usize, classes: usize) -> Result<(), Error> {
        let bad = |field, message: String| Err(Error::Schedule { field, message });
        if self.batch_size == 0 {
            return bad("batch_size", "must be at least 1".into());
        }
        for &n in &self.budgets {
            if n == 0 || n > train_len {
                return bad(
                    "budgets",
                    format!("{n} is not between 1 and the {train_len} training images"),
                );
            }
            if n % classes.max(1) != 0 {
                return bad(
                    "budgets",
                    format!("{n} is not a multiple of the {classes} classes"),
                );
            }
        }
        if let Some(p) = self.noise.iter().find(|p| !(0.0..1.0).contains(*p)) {
            return bad("noise", format!("{p} is not in [0, 1)"));
        }
        for (field, empty) in [
            ("budgets", self.budgets.is_empty()),
            ("noise", self.noise.is_empty()),
            ("seeds", self.seeds.is_empty()),
            ("methods", self.methods.is_empty()),
        ] {
            if empty {
                return bad(field, "is empty".into());
            }
        }
        Ok(())
    }

    /// Every run, in the order [`run`](super::run) makes them: seed, then rate, budget, method.
    pub fn runs(&self) -> Vec<(u64, f64, usize, Method)> {
        let mut runs = Vec::new();
        for &seed in &self.seeds {
            for &p in &self.noise {
                for &n in &self.budgets {
                    for &method in &self.methods {
                        runs.push((seed, p, n, method));
                    }
                }
            }
        }
        runs
    }

    /// Whether any method needs the autoencoder (then each seed pretrains it once).
    pub fn pretrains(&self) -> bool {
        self.methods.iter().any(|m| m.pretrained()) && self.pretrain_epochs > 0
    }
}
