"""Train an LSTM on the copy task with TBPTT(k1, k2), checkpointing as it goes.

The copy task of Arjovsky, Shah & Bengio (2016): remember n symbols over a
delay of T steps; the baseline (blanks, then a uniform guess) is
n ln 8 / (T + 2n). The defaults, 5 symbols over a delay of 10 with 64 LSTM
units, RMSProp (learning rate 1e-2, decay 0.9), gradient norm clipped to 1
and batches of 20, learn within a minute on 2 cores, since the window k2
reaches from every copied symbol back to its input. Their setting (10
symbols, T = 100 to 500, 40 units, learning rate 1e-3) takes far longer:

    python examples/copy_lstm_tbptt.py --delay 100 --symbols 10 --hidden 40 --lr 1e-3 --k1 20 --k2 40 --updates 20000

Rerunning the same command after an interruption resumes from the
checkpoint, exactly where it stopped.
"""

import argparse

import rnn_numba as rn
from rnn_numba import tasks


def main(argv=None):
    """Train (or resume) and print the held-out loss; returns the History."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=int, default=10, help="T, the steps between the symbols and the delimiter")
    parser.add_argument("--symbols", type=int, default=5, help="symbols to copy")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--updates", type=int, default=6000)
    parser.add_argument("--k1", type=int, default=10)
    parser.add_argument("--k2", type=int, default=20)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--checkpoint", default="copy_lstm.ckpt")
    args = parser.parse_args(argv)

    net = rn.LSTM(n_in=10, n_hidden=args.hidden, n_out=10, seed=0)
    trainer = rn.Trainer(
        net,
        rn.optim.RMSProp(lr=args.lr, decay=0.9),
        lambda rng: tasks.copy(args.delay, 20, seed=rng, n_copy=args.symbols),
        tbptt=(args.k1, args.k2),
        clip_norm=1.0,
        eval_data=tasks.copy(args.delay, 200, seed=12345, n_copy=args.symbols),
        eval_every=max(1, args.updates // 10),
        seed=0,
    )
    history = trainer.run(args.updates, checkpoint=args.checkpoint, checkpoint_every=100, resume=True)
    for step, loss in zip(history.eval_step, history.eval_loss, strict=True):
        print(f"update {step:6d}  held-out cross-entropy {loss:.4f}")
    baseline = tasks.copy_baseline(args.delay, args.symbols)
    print(f"baseline {args.symbols} ln 8 / (T + {2 * args.symbols}) = {baseline:.4f}")
    return history


if __name__ == "__main__":
    main()
