"""Design practice: the answer skeleton, design documents, back-of-envelope estimates."""
