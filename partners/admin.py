from django.contrib import admin

from partners.models import Partner


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ("code", "legal_name", "kind", "status", "file_encoding", "related_party_group")
    list_filter = ("kind", "status", "file_encoding")
    search_fields = ("code", "legal_name", "related_party_group")
    ordering = ("code",)
