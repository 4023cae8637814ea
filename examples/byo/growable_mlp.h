// A model written against sprout's model seam: input -> fc1 (a width site) -> activation
// -> fc2 (logits). Declaring fc1 as a site is all it takes to make the model growable
// (and slimmable and mergeable): growth events, strategies and checkpoints act on sites.
#pragma once

// Registers the family "growable_mlp" with one setting, model.hidden (fc1's width).
void register_growable_mlp();
