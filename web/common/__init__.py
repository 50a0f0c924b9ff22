"""What the admin shares with the pages: extensions, language choice, problem details, explanation
cards of a firing, and the forms a task template renders."""
