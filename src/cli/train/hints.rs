//! What a training failure means in the command line's words: which flag to change.

use std::path::Path;

use twostage::Error as Engine;
use twostage::checkpoint::TensorFile;
use twostage::train::Stage;

use super::TrainArgs;
use crate::cli::error::Error;

/// A |weight| above this in an `--init` checkpoint is taken for the cause of an overflow: a
/// trained network's weights are a few units at most.
const HUGE_WEIGHT: f32 = 1e6;

/// Adds to a training failure what the user can do about it, in the command line's words;
/// `init` is the `--init` checkpoint and its path, when the run started from one.
pub fn with_hint(
    error: twostage::Error,
    args: &TrainArgs,
    init: Option<(&TensorFile, &Path)>,
) -> Error {
    let error = Error::Engine(error);
    let init = init.map(|(file, path)| Init::of(file, path));
    let huge = init.as_ref().filter(|i| i.largest > HUGE_WEIGHT);
    let hint = match &error {
        Error::Engine(Engine::Diverged {
            stage,
            epoch: 1,
            batch: 1,
            ..
        }) => {
            // The first loss of a stage comes before its first update: its learning rate
            // cannot be the cause.
            let from_init = init.is_some() && (args.stage1_epochs == 0 || *stage != Stage::Stage2);
            let source = match (&init, *stage) {
                (Some(init), _) if from_init => init.overflow(),
                (_, Stage::Stage2 | Stage::Finetune) => {
                    "the weights stage 1 ended with overflow (try a smaller --lr for stage 1)"
                        .into()
                }
                _ => "the initial weights overflow".into(),
            };
            format!(
                "the loss was not finite before the stage's first update, so its learning rate \
                 is not the cause: {source}"
            )
        }
        Error::Engine(Engine::Diverged { .. } | Engine::NonFiniteParameter { .. })
        | Error::Engine(Engine::NonFiniteOutput { .. })
            if huge.is_some() =>
        {
            huge.map(Init::overflow).unwrap_or_default()
        }
        Error::Engine(
            Engine::Diverged { stage, .. } | Engine::NonFiniteParameter { stage, .. },
        ) => {
            let (flag, lr) = if *stage == Stage::Finetune {
                ("--finetune-lr", args.finetune_lr)
            } else {
                ("--lr", args.lr)
            };
            format!("the {stage} learning rate ({flag} {lr}) is too large: try a smaller {flag}")
        }
        Error::Engine(Engine::NonFiniteOutput { .. }) => match &init {
            Some(init) => format!(
                "check the weights loaded by --init {}, or train with a smaller --lr",
                init.path.display()
            ),
            None => "train with a smaller --lr".into(),
        },
        _ => return error,
    };
    Error::Hinted {
        error: Box::new(error),
        hint,
    }
}

/// The `--init` checkpoint as a suspect: its path and its largest |weight|.
struct Init<'a> {
    path: &'a Path,
    largest: f32,
}

impl<'a> Init<'a> {
    fn of(file: &TensorFile, path: &'a Path) -> Init<'a> {
        let values = file.tensors.values().flat_map(|t| &t.data);
        let largest = values.fold(0.0f32, |max, v| max.max(v.abs()));
        Init { path, largest }
    }

    /// The clause blaming the checkpoint, naming it and its largest |weight|.
    fn overflow(&self) -> String {
        let (path, largest) = (self.path.display(), self.largest);
        if largest > HUGE_WEIGHT {
            format!(
                "the weights loaded by --init {path} are huge (the largest |weight| is \
                 {largest:e}, where trained weights are a few units) and overflow: start from \
                 another checkpoint, or without --init"
            )
        } else {
            format!(
                "the weights loaded by --init {path} (the largest |weight| is {largest:e}) \
                 overflow: check that checkpoint, or start without --init"
            )
        }
    }
}
