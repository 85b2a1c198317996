"""Safety: recognising a message from someone who may be in danger, and the help block in their language."""
