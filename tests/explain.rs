#![cfg(feature = "cli")]
//! `twostage explain`: its output is fixed (golden files), and its numbers are PyTorch's
//! (`tests/golden/explain_torch.txt`, written by `tests/python/explain_reference.py`).

mod common;

use std::collections::HashMap;

fn explain(args: &[&str]) -> String {
    let out = common::twostage(&[&["explain"], args].concat());
    assert!(out.status.success(), "{}", common::stderr(&out));
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Every pairing of `--loss` and `--optimizer`.
const LOSS_AND_OPTIMIZER: [(&str, &str); 4] = [
    ("ce", "adam"),
    ("mse", "adam"),
    ("ce", "sgd"),
    ("mse", "sgd"),
];

fn golden(name: &str) -> String {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Regenerate with `twostage explain --loss L --optimizer O > tests/golden/explain-L-O.txt`
/// when the output changes on purpose.
#[test]
fn output_matches_the_golden_files() {
    for (loss, optimizer) in LOSS_AND_OPTIMIZER {
        let text = explain(&["--loss", loss, "--optimizer", optimizer]);
        assert_eq!(
            text,
            golden(&format!("explain-{loss}-{optimizer}.txt")),
            "--loss {loss} --optimizer {optimizer}"
        );
        for line in text.lines() {
            assert!(line.chars().count() <= 80, "wider than 80 columns: {line}");
        }
        assert_eq!(text.matches(" ok\n").count(), 5, "five gradients checked");
    }
    assert_eq!(explain(&["--seed", "3"]), golden("explain-seed3.txt"));
    // Regenerate with `twostage explain --batch 2 > tests/golden/explain-batch2.txt`, and
    // `--steps 2 > explain-steps2.txt`.
    assert_eq!(explain(&["--batch", "2"]), golden("explain-batch2.txt"));
    assert_eq!(explain(&["--steps", "2"]), golden("explain-steps2.txt"));
    assert_ne!(
        explain(&["--seed", "3"]),
        explain(&[]),
        "--seed draws other weights"
    );
}

/// The numbers in the bracketed rows of the `occurrence`-th block labelled `label`: its
/// first line and the continuation lines under it (whitespace, then `[`, no `=`).
fn block(text: &str, label: &str, occurrence: usize) -> Vec<f64> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with(label))
        .nth(occurrence)
        .unwrap_or_else(|| panic!("no block {label:?} #{occurrence}"))
        .0;
    let mut values = Vec::new();
    for (i, line) in lines[start..].iter().enumerate() {
        if i > 0 && (!line.trim_start().starts_with('[') || line.contains('=')) {
            break;
        }
        // The last bracket on the line: `dz1 = dh ⊙ [z1 > 0] = [ … ]` has two.
        let inside = line
            .rsplit('[')
            .next()
            .and_then(|r| r.split(']').next())
            .unwrap_or("");
        values.extend(inside.split_whitespace().map(|v| v.parse::<f64>().unwrap()));
    }
    values
}

/// The scalar after `label` on its line.
fn scalar(text: &str, label: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no line {label:?}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn numbers_agree_with_pytorch() {
    let torch: HashMap<String, Vec<f64>> = golden("explain_torch.txt")
        .lines()
        .map(|l| {
            let mut parts = l.split_whitespace();
            let key = parts.next().unwrap().to_string();
            (key, parts.map(|v| v.parse().unwrap()).collect())
        })
        .collect();
    let mut compared = 0;
    for (loss, optimizer) in LOSS_AND_OPTIMIZER {
        let text = explain(&["--loss", loss, "--optimizer", optimizer]);
        let key = |name: &str| format!("{loss}.{optimizer}.{name}");
        let mut ours: Vec<(&str, Vec<f64>)> = vec![
            ("z1", block(&text, "z1 = ", 0)),
            ("h", block(&text, "h  = ", 0)),
            ("z2", block(&text, "z2 = ", 0)),
            ("L", vec![scalar(&text, "L  = ")]),
            ("dz2", block(&text, "dz2 = ", 0)),
            ("dW2", block(&text, "dW2 = ", 0)),
            ("db2", block(&text, "db2 = ", 0)),
            ("dh", block(&text, "dh  = ", 0)),
            ("dz1", block(&text, "dz1 = ", 0)),
            ("dW1", block(&text, "dW1 = ", 0)),
            ("db1", block(&text, "db1 = ", 0)),
            ("dx", block(&text, "dx  = ", 0)),
        ];
        if loss == "ce" {
            ours.push(("p", block(&text, "p  = ", 0)));
        }
        let updated = ["W1'", "b1'", "W2'", "b2'"];
        for (k, name) in updated.iter().enumerate() {
            ours.push((name, block(&text, "θ' = ", k)));
        }
        for (name, values) in ours {
            let expected = &torch[&key(name)];
            assert_eq!(values.len(), expected.len(), "{loss}/{optimizer} {name}");
            for (a, e) in values.iter().zip(expected) {
                // Printed with five decimals.
                assert!(
                    (a - e).abs() <= 5.1e-6,
                    "{loss}/{optimizer} {name}: printed {a}, PyTorch {e}"
                );
            }
            compared += 1;
        }
    }
    assert_eq!(compared, 2 * (16 + 17));
}

/// `--batch 2`: two examples a row each, the loss averaged with its 1/B, the gradients summed
/// over the batch, and every one still equal to its finite difference.
#[test]
fn a_batch_shows_the_sum_and_the_one_over_b() {
    for loss in ["ce", "mse"] {
        let text = explain(&["--batch", "2", "--loss", loss]);
        assert!(
            text.contains("FORWARD (a batch of B = 2 examples, one a row)"),
            "{text}"
        );
        assert!(text.contains("the 1/B = 1/2 is in dz2"), "{text}");
        assert!(text.contains("dW2 = Σ_b dz2_bᵀ·h_b"), "{text}");
        assert!(text.contains("db1 = Σ_b dz1_b"), "{text}");
        assert_eq!(text.matches(" ok\n").count(), 5, "{text}");
        assert!(!text.contains("WRONG"), "{text}");
        for line in text.lines() {
            assert!(line.chars().count() <= 80, "wider than 80 columns: {line}");
        }
    }
    let ce = explain(&["--batch", "2"]);
    assert!(ce.contains("  y  = [1, 0]    the labels"), "{ce}");
    assert!(ce.contains("L  = (1/B) Σ_b -log p_b[y_b] = (1/2)("), "{ce}");
    // The batch's first example is the one of B = 1.
    let one = explain(&[]);
    let first_x = |t: &str| {
        t.lines()
            .find(|l| l.starts_with("  x  = "))
            .map(str::to_string)
    };
    assert_eq!(first_x(&ce), first_x(&one));
}

/// `--steps 2`: the second step starts from the first's weights and carries Adam's m and v
/// (SGD's momentum) over, and the engine's optimizer agrees at both steps.
#[test]
fn a_second_step_carries_the_optimizer_state_over() {
    let text = explain(&["--steps", "2"]);
    assert!(text.starts_with("2 training steps of"), "{text}");
    assert!(
        text.contains("STEP 1 of 2\n") && text.contains("STEP 2 of 2\n"),
        "{text}"
    );
    assert!(
        text.contains("ADAM, step t = 2: m and v carry over from step 1"),
        "{text}"
    );
    assert!(text.contains("m̂ = m / (1-β1ᵗ) = m / 0.190"), "{text}");
    assert_eq!(
        text.matches("gives these weights: yes").count(),
        2,
        "{text}"
    );
    assert_eq!(text.matches(" ok\n").count(), 10, "{text}");
    // Step 1 is the single step of the default output.
    let one = explain(&[]);
    let step1 = &text[text.find("FORWARD").unwrap()..text.find("STEP 2").unwrap()];
    assert_eq!(
        step1.trim_end(),
        one[one.find("FORWARD").unwrap()..].trim_end()
    );
    let sgd = explain(&["--steps", "2", "--optimizer", "sgd"]);
    assert!(
        sgd.contains("SGD WITH MOMENTUM, step 2: b carries over from step 1"),
        "{sgd}"
    );
    assert_eq!(sgd.matches("gives these weights: yes").count(), 2, "{sgd}");
    for line in text.lines().chain(sgd.lines()) {
        assert!(line.chars().count() <= 80, "wider than 80 columns: {line}");
    }
}

#[test]
fn batch_and_steps_are_checked() {
    for args in [["--batch", "0"], ["--steps", "0"], ["--batch", "99"]] {
        let out = common::twostage(&[&["explain"], &args[..]].concat());
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("for '{} <N>'", args[0])) && stderr.contains("from 1 to"),
            "{stderr}"
        );
    }
}
