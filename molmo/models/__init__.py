"""Model definitions: vision backbones, connector, decoder LLMs and the Molmo model."""
