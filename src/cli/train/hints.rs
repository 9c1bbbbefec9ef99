//! What a training failure means in the command line's words: which flag to change.

use twostage::Error as Engine;
use twostage::train::Stage;

use super::TrainArgs;
use crate::cli::error::Error;

/// Adds to a training failure what the user can do about it, in the command line's words.
pub fn with_hint(error: twostage::Error, args: &TrainArgs) -> Error {
    let error = Error::Engine(error);
    let init = args
        .init
        .as_ref()
        .map(|p| format!(" loaded by --init {}", p.display()));
    let hint = match &error {
        Error::Engine(Engine::Diverged {
            stage,
            epoch: 1,
            batch: 1,
            ..
        }) => {
            // The first loss of a stage comes before its first update: its learning rate
            // cannot be the cause.
            let source = match (*stage, &init) {
                (Stage::Stage1 | Stage::Finetune, Some(init)) | (Stage::Stage2, Some(init))
                    if args.stage1_epochs == 0 || *stage != Stage::Stage2 =>
                {
                    format!("the weights{init}")
                }
                (Stage::Stage2 | Stage::Finetune, _) => {
                    "the weights stage 1 ended with (try a smaller --lr for stage 1)".into()
                }
                _ => "the initial weights".into(),
            };
            format!(
                "the loss was not finite before the stage's first update, so its learning rate \
                 is not the cause: {source} overflow"
            )
        }
        Error::Engine(
            Engine::Diverged { stage, .. } | Engine::NonFiniteParameter { stage, .. },
        ) => {
            let (flag, lr) = if *stage == Stage::Finetune {
                ("--finetune-lr", args.finetune_lr)
            } else {
                ("--lr", args.lr)
            };
            format!("the {stage} learning rate is {flag} {lr}: try a smaller {flag}")
        }
        Error::Engine(Engine::NonFiniteOutput { .. }) => match &init {
            Some(init) => format!("check the weights{init}, or train with a smaller --lr"),
            None => "train with a smaller --lr".into(),
        },
        _ => return error,
    };
    Error::Hinted {
        error: Box::new(error),
        hint,
    }
}
