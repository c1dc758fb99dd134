"""Math-word-problem solver (issue 8): data, safe evaluator, UniLM Seq2Seq model, training, decoding."""
