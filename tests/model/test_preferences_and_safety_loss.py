"""Safety/tone preference pairs and the unlikelihood term (real data files, real torch)."""

import json

import pytest
import torch

from cds.errors import SourceDataError
from cds.model.preferences import (
    COMPLIANCE_OPENER,
    counsel_chat_pairs,
    hh_rlhf_pairs,
    medsafetybench_pairs,
)
from cds.model.safety_loss import unlikelihood_loss
from tests.conftest import ROOT

EXTERNAL = ROOT / "data" / "external"


def test_medsafetybench_pairs_prefer_the_safe_response():
    pairs = medsafetybench_pairs(EXTERNAL / "medsafetybench" / "medsafetybench.jsonl")
    assert len(pairs) == 900
    for p in pairs[:20]:
        assert p["kind"] == "safety" and p["prompt"][0]["role"] == "system"
        assert p["rejected"][0]["content"] == COMPLIANCE_OPENER
        assert p["chosen"][0]["content"] and p["chosen"] != p["rejected"]


def test_hh_rlhf_pairs_share_the_prompt_and_differ_in_the_last_answer():
    pairs = hh_rlhf_pairs(
        EXTERNAL / "hh-rlhf-harmless-test" / "harmless-base_test_health_selfharm_subset.jsonl"
    )
    assert 50 <= len(pairs) <= 99
    for p in pairs:
        assert p["prompt"][-1]["role"] == "user"
        assert p["chosen"][0]["content"] != p["rejected"][0]["content"]


def test_counsel_chat_uses_the_train_split_only():
    path = EXTERNAL / "counsel-chat" / "counsel_chat_upvote_pairs.jsonl"
    pairs = counsel_chat_pairs(path)
    train = [json.loads(x) for x in path.read_text().splitlines() if '"split": "train"' in x]
    assert len(pairs) == len(train) and all(p["kind"] == "tone" for p in pairs)


def test_missing_or_bad_preference_file_is_one_clear_error(tmp_path):
    with pytest.raises(SourceDataError, match="not found"):
        medsafetybench_pairs(tmp_path / "none.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    with pytest.raises(SourceDataError, match="line 1"):
        counsel_chat_pairs(bad)


def test_unlikelihood_grows_with_the_probability_of_the_unsafe_tokens():
    labels = torch.tensor([[-100, 3, 4]])
    low = torch.zeros(1, 3, 8)
    high = torch.zeros(1, 3, 8)
    high[0, 0, 3] = 6.0  # position 0 predicts label 3
    high[0, 1, 4] = 6.0
    assert unlikelihood_loss(high, labels) > unlikelihood_loss(low, labels) > 0
    near_zero = torch.zeros(1, 3, 8)
    near_zero[0, 0, 3] = near_zero[0, 1, 4] = -20.0
    assert unlikelihood_loss(near_zero, labels) < 1e-6
    masked = torch.tensor([[-100, -100, -100]])
    assert unlikelihood_loss(high, masked) == 0
