"""The JSON API and the role pages (field, check, dispatch, supervision, assessment), thin handlers over
one engine call each; web/common/ holds what the admin shares with them."""
