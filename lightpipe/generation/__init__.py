"""Generation loop: LightningModule, scene, renderer and writer."""
