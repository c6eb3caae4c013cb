"""The answer reranker's network (an experiment: `python -m train reranker`, eval/README.md).

A cross-encoder read from the packaged all-MiniLM-L6-v2: the question and a candidate sentence
go in as one BERT pair ("[CLS] question [SEP] sentence [SEP]"), the first `layers` transformer
layers read them together, the tokens are mean-pooled and one linear unit gives a correction
that is added to the bi-encoder's cosine of the two (scaled by a learnt factor): the reranker
starts from what retrieval already knows and learns what answering adds to it (higher: answers
the question better). The word embeddings stay frozen at the packaged model's values,
so the written file (`reranker.safetensors`, fp16) holds only what training changed: position
and type embeddings, the layers and the head.

Measured on the eval suites it chose worse verdicts than the rules alone (eval/README.md), so the
answer does not use it: nothing in `citeline/` imports this module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import AutoModel

from train.common import trained_state

FROZEN = ("embeddings.word_embeddings.weight",)
INPUTS = ("input_ids", "attention_mask", "token_type_ids", "cosine")
COSINE_SCALE = 20.0  # initial weight of the cosine (a 0.1 gap is a logit gap of 2)


class Reranker(torch.nn.Module):
    def __init__(self, model_dir: Path, layers: int) -> None:
        super().__init__()
        bert = AutoModel.from_pretrained(
            str(model_dir), local_files_only=True, attn_implementation="eager"
        )
        bert.encoder.layer = bert.encoder.layer[:layers]
        bert.config.num_hidden_layers = layers
        bert.pooler = None
        self.bert = bert
        self.head = torch.nn.Linear(bert.config.hidden_size, 1)
        torch.nn.init.normal_(self.head.weight, std=0.002)
        torch.nn.init.zeros_(self.head.bias)
        self.cosine_scale = torch.nn.Parameter(torch.tensor(COSINE_SCALE))
        for name, param in self.bert.named_parameters():
            if name in FROZEN:
                param.requires_grad_(False)

    def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any, cosine: Any) -> Any:
        hidden = self.bert(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        m = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return self.head(pooled).squeeze(-1) + self.cosine_scale * cosine

    def trained_state(self) -> dict[str, torch.Tensor]:
        """What training changed (the frozen word embeddings left out), as fp16."""
        return trained_state(self, FROZEN)
