import pytest
import torch
from PIL import Image

import molmo
from molmo.errors import UserError
from molmo.eval.inference import EvalModel, resolve_device
from molmo.eval.tasks.base import EvalItem, TaskSettings


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        assert resolve_device("auto") == torch.device("cpu")
        with pytest.raises(UserError, match="no CUDA device"):
            resolve_device("cuda")
    with pytest.raises(UserError, match="auto, cpu or cuda"):
        resolve_device("tpu")


def test_batched_generation_matches_single_prompts(tiny_checkpoint):
    evm = EvalModel.load(str(tiny_checkpoint), torch.device("cpu"))
    items = [EvalItem("a", 0, "What color is the square?", "vqa2", {}, [Image.new("RGB", (90, 40), "red")]),
             EvalItem("b", 1, "Describe this image.", None, {}, [Image.new("RGB", (30, 70), "blue")])]
    settings = TaskSettings(style=None, max_new_tokens=5, max_crops=4)
    images = [evm.load_images(i) for i in items]
    together = evm.generate(items, images, settings)
    alone = [evm.generate([i], [im], settings)[0] for i, im in zip(items, images)]
    assert [g.text for g in together] == [g.text for g in alone]
    assert [g.image_sizes for g in together] == [[[90, 40]], [[30, 70]]]
    assert evm.forward_batches == 3 and evm.preprocessor(4).config.max_crops == 4
    assert evm.preprocessor(None).config.max_crops == evm.preprocess.max_crops


def test_unreadable_image_and_missing_tokenizer(tiny_checkpoint, tmp_path):
    evm = EvalModel.load(str(tiny_checkpoint), torch.device("cpu"))
    with pytest.raises(UserError, match="x image 0"):
        evm.load_images(EvalItem("x", 0, "q", None, {}, [str(tmp_path / "missing.png")]))
    with pytest.raises(UserError, match="no tokenizer"):
        EvalModel(molmo.build("tiny"), torch.device("cpu"), "fresh")
