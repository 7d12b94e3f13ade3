"""The book's own helpers: what chapters and assignments use to show training, not to train.

- `widgets`: the interactive playgrounds, and the figures that replace them in the built book;
- `toy_training`, `toy_plots`: the 1-D and 2-D toy GANs, fast enough to rerun during a lecture,
  and their pictures;
- `ablation`: one change at a time, over seeds, each run judged and compared with an interval;
- `experiments`, `records`: the long ablations whose stored records chapters 7 and 10 plot;
- `semi_supervised`: chapter 9's classifier trained with a GAN's discriminator.

The reusable GAN code (models, losses, training, metrics, the progress bars in `progress`,
the judgement and comparison of runs) lives one level up.
"""
