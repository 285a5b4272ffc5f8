"""Django REST framework's validation messages, marked here so the app's own catalogue carries them.

The API validates bodies with DRF serializers, whose messages are DRF's msgids ("This field may not be
blank."). DRF's catalogue is loaded only when ``rest_framework`` is in ``INSTALLED_APPS``, which a shop
need not list; Django looks a msgid up in every installed app's catalogue, so with these in
``chatbot/locale`` the messages follow the active language either way. The list covers every message
the field types the API uses (and the serializer itself) can raise; nothing calls it.
"""

from __future__ import annotations

from django.utils.translation import gettext_noop

DRF_MESSAGES = (
    # Field
    gettext_noop("This field is required."),
    gettext_noop("This field may not be null."),
    # CharField and its validators
    gettext_noop("Not a valid string."),
    gettext_noop("This field may not be blank."),
    gettext_noop("Ensure this field has no more than {max_length} characters."),
    gettext_noop("Ensure this field has at least {min_length} characters."),
    gettext_noop("Null characters are not allowed."),
    gettext_noop("Surrogate characters are not allowed: U+{code_point:X}."),
    # ChoiceField, UUIDField, BooleanField, IntegerField, EmailField, URLField
    gettext_noop('"{input}" is not a valid choice.'),
    gettext_noop("Must be a valid UUID."),
    gettext_noop("Must be a valid boolean."),
    gettext_noop("A valid integer is required."),
    gettext_noop("Ensure this value is less than or equal to {max_value}."),
    gettext_noop("Ensure this value is greater than or equal to {min_value}."),
    gettext_noop("String value too large."),
    gettext_noop("Enter a valid email address."),
    gettext_noop("Enter a valid URL."),
    # ListField, DictField and the serializer itself
    gettext_noop('Expected a list of items but got type "{input_type}".'),
    gettext_noop("This list may not be empty."),
    gettext_noop("Ensure this field has no more than {max_length} elements."),
    gettext_noop("Ensure this field has at least {min_length} elements."),
    gettext_noop('Expected a dictionary of items but got type "{input_type}".'),
    gettext_noop("This dictionary may not be empty."),
    gettext_noop("Invalid data. Expected a dictionary, but got {datatype}."),
)
