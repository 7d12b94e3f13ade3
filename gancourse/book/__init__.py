"""The book's own helpers: what chapters and assignments use to show training, not to train.

- `notebook`: where the code runs (a live notebook or the book build), and progress bars that
  suit each;
- `widgets`: the interactive playgrounds, and the figures that replace them in the built book;
- `toy_training`, `toy_plots`: the 1-D and 2-D toy GANs, fast enough to rerun during a lecture,
  and their pictures;
- `ablation`: one change at a time, over seeds, with the spread between seeds;
- `semi_supervised`: chapter 9's classifier trained with a GAN's discriminator.

The reusable GAN code (models, losses, training, metrics) lives one level up.
"""
