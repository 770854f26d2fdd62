#!/usr/bin/env python3
"""PyTorch + PEFT baseline for the `train` bench: LoRA training tokens/s on SmolLM2-135M shapes, fp32 on CPU.

Same shapes and settings as the Rust bench: random init, batch 4 x 256 tokens, LoRA r=8 (alpha 16) on
q/k/v/o, AdamW, best of a few timed steps after one warm-up step. Needs `pip install torch transformers peft`
(not part of CI). Usage: python3 kernels/benches/torch_lora.py [--layers 30] [--steps 3] [--threads N]
"""

import argparse
import os
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import LlamaConfig, LlamaForCausalLM

BATCH, SEQ = 4, 256


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=30)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    config = LlamaConfig(
        vocab_size=49152,
        hidden_size=576,
        intermediate_size=1536,
        num_hidden_layers=args.layers,
        num_attention_heads=9,
        num_key_value_heads=3,
        rope_theta=100000.0,
        rms_norm_eps=1e-5,
        max_position_embeddings=8192,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config).float()
    lora = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"])
    model = get_peft_model(model, lora)
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    # SEQ + 1 tokens so the model predicts SEQ positions, as the Rust bench does.
    tokens = torch.randint(0, config.vocab_size, (BATCH, SEQ + 1))

    best = float("inf")
    for step in range(args.steps + 1):
        started = time.perf_counter()
        loss = model(input_ids=tokens, labels=tokens).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if step > 0:
            best = min(best, time.perf_counter() - started)
    print(
        f"torch {torch.__version__} + PEFT, SmolLM2 shapes, {args.layers} layers, batch {BATCH}x{SEQ}, "
        f"LoRA r8 q/k/v/o, {args.threads} threads: {best:.2f} s/step, {BATCH * SEQ / best:.0f} tokens/s"
    )


if __name__ == "__main__":
    main()
