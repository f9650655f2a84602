import torch

from molmo.models.llm.embedding import ExtendedEmbedding


def test_lookup_behaves_like_concatenated_table_and_maps_pad_to_zero():
    torch.manual_seed(0)
    emb = ExtendedEmbedding(10, 3, 4)
    emb.reset_parameters()
    table = torch.cat([emb.embedding, emb.new_embedding])
    ids = torch.tensor([[0, 9, 10, 12, -1]])
    out = emb(ids)
    assert out.shape == (1, 5, 4)
    torch.testing.assert_close(out[0, :4], table[[0, 9, 10, 12]])
    torch.testing.assert_close(out[0, 4], emb.embedding[0])


def test_gradients_reach_both_tables():
    emb = ExtendedEmbedding(5, 2, 3)
    emb.reset_parameters()
    emb(torch.tensor([[1, 6]])).sum().backward()
    assert emb.embedding.grad[1].abs().sum() > 0 and emb.embedding.grad[0].abs().sum() == 0
    assert emb.new_embedding.grad[1].abs().sum() > 0 and emb.new_embedding.grad[0].abs().sum() == 0


def test_no_new_rows():
    emb = ExtendedEmbedding(5, 0, 3)
    emb.reset_parameters()
    torch.testing.assert_close(emb(torch.tensor([[4]]))[0, 0], emb.embedding[4])
