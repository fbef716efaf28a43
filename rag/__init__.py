"""The vetted knowledge base: documents, index, retrieval and citation checking."""
