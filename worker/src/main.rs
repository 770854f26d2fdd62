//! `worker`: the command line over `tern_worker` (flags, environment, progress bar, logs).

mod cli;

use std::{io::IsTerminal, process::ExitCode, time::Duration};

use anyhow::{Context, Result};
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tern_worker::{
    checkpoint::{RunDir, locate},
    config::FinetuneConfig,
    convert::{ConvertOptions, convert},
    eval::{EvalReport, eval},
    finetune::{Event, LossReport, Outcome, RunControl, finetune},
    generate::{GenerateOptions, generate},
};
use tracing::{debug, info};
use tracing_subscriber::EnvFilter;

use cli::{Cli, Command, ConvertArgs, EvalArgs, FinetuneArgs, GenerateArgs};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        _ => "trace",
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level)),
        )
        .init();
    let result = match cli.command {
        Command::Finetune(args) => run_finetune(args),
        Command::Eval(args) => run_eval(args),
        Command::Convert(args) => run_convert(args),
        Command::Generate(args) => run_generate(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_finetune(args: FinetuneArgs) -> Result<()> {
    let config = args.run.resolve(FinetuneConfig::default())?;
    let bar = ProgressBar::with_draw_target(
        Some(u64::from(config.steps)),
        if args.no_progress {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        },
    );
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} step {pos}/{len} [{bar:30}] {msg} elapsed {elapsed_precise} ETA {eta_precise}",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(250));
    let mut observer = |event: Event| match event {
        Event::Started {
            from_step,
            total,
            train_examples,
            validation_examples,
        } => {
            bar.set_position(u64::from(from_step));
            bar.reset_eta();
            info!(
                from_step,
                total, train_examples, validation_examples, "starting"
            );
        }
        Event::Step {
            line,
            tokens_per_second,
        } => {
            bar.set_position(u64::from(line.step + 1));
            bar.set_message(format!(
                "loss {:.4} {tokens_per_second:.0} tok/s",
                line.loss
            ));
            debug!(
                step = line.step,
                loss = line.loss,
                lr = line.lr,
                tokens_per_second,
                "step"
            );
        }
        Event::Checkpoint { step, state_hash } => {
            bar.suspend(|| info!(step, state_hash, "checkpoint"));
        }
        Event::Evaluating => {
            bar.set_message("evaluating the validation split");
        }
    };
    let control = RunControl {
        resume: args.resume,
        stop_at: args.stop_at,
    };
    let outcome = finetune(&config, control, &mut observer);
    bar.finish_and_clear();
    let summary = match outcome? {
        Outcome::Finished(summary) => summary,
        Outcome::Stopped { step, state_hash } => {
            println!(
                "stopped at step {step} of {} (state hash {state_hash}); continue with --resume",
                config.steps
            );
            return Ok(());
        }
    };
    info!(
        val_base = summary.val_base.perplexity,
        val_adapter = summary.val_adapter.perplexity,
        output = %config.output.display(),
        "done"
    );
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}

fn run_eval(args: EvalArgs) -> Result<()> {
    let (checkpoint, run) = match &args.checkpoint {
        Some(path) => {
            let (file, run) = locate(path)?;
            (Some(file), run)
        }
        None => (None, None),
    };
    let record = run.as_ref().map(RunDir::read_record).transpose()?.flatten();
    if checkpoint.is_some() && record.is_none() {
        info!(
            "no run.json beside the checkpoint: settings come from the flags and defaults (alpha among them)"
        );
    }
    let base = record
        .as_ref()
        .map_or_else(FinetuneConfig::default, |r| r.config.clone());
    let config = args.run.resolve(base)?;
    let report = eval(&config, checkpoint, record.as_ref())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_eval(&report);
    }
    Ok(())
}

fn loss_line(name: &str, r: &LossReport) -> String {
    format!(
        "{name:<14} loss {:.4}  perplexity {:.3}  ({} tokens)",
        r.loss, r.perplexity, r.tokens
    )
}

fn print_eval(report: &EvalReport) {
    println!("validation split: {} examples", report.validation_examples);
    println!("{}", loss_line("base", &report.base));
    if let (Some(r), Some(step)) = (&report.adapter, report.checkpoint_step) {
        println!("{}  checkpoint step {step}", loss_line("base+adapter", r));
    }
}

fn run_convert(args: ConvertArgs) -> Result<()> {
    let opts = ConvertOptions {
        model: args
            .model
            .unwrap_or_else(|| FinetuneConfig::default().model),
        quant: args.quant,
        output: args.output,
        tensor_type: args.tensor_type,
        eval_text: args.eval_text,
        seq_len: args.seq_len,
        eval_sequences: args.eval_sequences,
        threads: args.threads,
    };
    let report = convert(&opts)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "wrote {} ({} bytes, sha256 {})",
        report.output.display(),
        report.bytes,
        report.sha256
    );
    for l in &report.losses {
        println!("{}", loss_line(&l.what, &l.report));
    }
    Ok(())
}

fn run_generate(args: GenerateArgs) -> Result<()> {
    let (checkpoint, record) = match &args.checkpoint {
        Some(path) => {
            let (file, run) = locate(path)?;
            let record = run.as_ref().map(RunDir::read_record).transpose()?.flatten();
            (Some(file), record)
        }
        None => (None, None),
    };
    let recorded = record.as_ref().map(|r| &r.config);
    let adapter = match checkpoint {
        Some(file) => {
            let alpha = args.alpha.or(recorded.map(|c| c.alpha)).context(
                "the checkpoint has no run.json beside it: pass the alpha it was trained with (--alpha)",
            )?;
            Some((file, alpha))
        }
        None => None,
    };
    let opts = GenerateOptions {
        model: args
            .model
            .or(recorded.map(|c| c.model.clone()))
            .unwrap_or_else(|| FinetuneConfig::default().model),
        quant: args
            .quant
            .or(recorded.map(|c| c.quant))
            .unwrap_or(FinetuneConfig::default().quant),
        adapter,
        prompt: args.prompt,
        chat: args.chat,
        max_tokens: args.max_tokens,
        temperature: args.temperature,
        top_k: args.top_k,
        seed: args.seed,
        threads: args.threads,
    };
    let out = generate(&opts)?;
    println!("{}", out.text);
    if args.ids {
        let ids: Vec<String> = out.tokens.iter().map(u32::to_string).collect();
        println!("ids: {}", ids.join(" "));
    }
    Ok(())
}
