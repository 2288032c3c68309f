// Package classify is the learned reason classifier: it learns from
// labelled contact texts which reason a new text has, how sure it can be,
// and when a text fits none of the reasons it knows.
//
// Train turns examples into a Model: word and character n-gram features
// (English stems, CJK characters), one-vs-rest linear SVMs with the
// averaged logits of two small neural networks added at a weight chosen by
// cross-validation, probabilities
// calibrated by cross-validation, and an out-of-scope detector learned
// from out-of-scope examples or, without them, from reasons held out of
// the cross-validation folds. A Model predicts, saves to and loads from a
// versioned binary file, and is named by a hash of its content.
// ReasonClassifier puts a model in the tagger's classifier chain and lets
// a new model replace it while contacts are being classified.
//
// Everything is pure Go and deterministic: the same examples and seed
// give a byte-identical model, however many cores train it. See
// docs/quality.md for the measured quality and the design.
package classify
