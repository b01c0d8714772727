"""Pages for residents: the home page, centre pages, source documents."""
