"""Train an LSTM on the copy task with TBPTT(k1, k2), checkpointing as it goes.

The copy task of Arjovsky, Shah & Bengio (2016): remember 10 symbols over a
delay of T steps. The setting follows theirs (40 LSTM units, RMSProp with
learning rate 1e-3 and decay 0.9, gradient norm clipped to 1, batches of 20);
the baseline is 10 ln 8 / (T + 20). Rerunning the same command after an
interruption resumes from the checkpoint, exactly where it stopped.

    python examples/copy_lstm_tbptt.py --delay 100 --updates 5000
"""

import argparse

import rnn_numba as rn
from rnn_numba import tasks


def main(argv=None):
    """Train (or resume) and print the held-out loss; returns the History."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=int, default=100, help="T, the steps between the symbols and the delimiter")
    parser.add_argument("--hidden", type=int, default=40)
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--k1", type=int, default=20)
    parser.add_argument("--k2", type=int, default=40)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--checkpoint", default="copy_lstm.ckpt")
    args = parser.parse_args(argv)

    net = rn.LSTM(n_in=10, n_hidden=args.hidden, n_out=10, seed=0)
    trainer = rn.Trainer(
        net,
        rn.optim.RMSProp(lr=args.lr, decay=0.9),
        lambda rng: tasks.copy(args.delay, 20, seed=rng),
        tbptt=(args.k1, args.k2),
        clip_norm=1.0,
        eval_data=tasks.copy(args.delay, 200, seed=12345),
        eval_every=max(1, args.updates // 10),
        seed=0,
    )
    history = trainer.run(args.updates, checkpoint=args.checkpoint, checkpoint_every=100, resume=True)
    for step, loss in zip(history.eval_step, history.eval_loss, strict=True):
        print(f"update {step:6d}  held-out cross-entropy {loss:.4f}")
    print(f"baseline 10 ln 8 / (T + 20) = {tasks.copy_baseline(args.delay):.4f}")
    return history


if __name__ == "__main__":
    main()
