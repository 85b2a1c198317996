"""Text analysis: language detection, analysers (Finnish lemmas, Swedish and English stems), glossary, spans."""
