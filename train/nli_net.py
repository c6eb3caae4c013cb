"""The verifier reader's network for training (citeline/verify_nli.py runs it through ONNX).

The packaged all-MiniLM-L6-v2 reads claim and evidence as one BERT pair ("[CLS] claim [SEP]
evidence [SEP]"); its tokens are mean-pooled and a linear layer gives three logits (entailed,
contradicted, neither). The word embeddings stay frozen at the packaged model's values, so the
written file holds only what training changed (`trained_state`, fp16).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import AutoModel

from train.common import trained_state

FROZEN = ("embeddings.word_embeddings.weight",)


class Reader(torch.nn.Module):
    def __init__(self, model_dir: Path) -> None:
        super().__init__()
        bert = AutoModel.from_pretrained(
            str(model_dir), local_files_only=True, attn_implementation="eager"
        )
        bert.pooler = None
        self.bert = bert
        self.head = torch.nn.Linear(bert.config.hidden_size, 3)
        for name, param in self.bert.named_parameters():
            if name in FROZEN:
                param.requires_grad_(False)

    def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
        hidden = self.bert(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        m = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return self.head((hidden * m).sum(1) / m.sum(1).clamp(min=1e-9))

    def trained_state(self) -> dict[str, torch.Tensor]:
        """What training changed (the frozen word embeddings left out), as fp16."""
        return trained_state(self, FROZEN)
