"""The libvirt compute driver: guests boot from their EBS volumes."""
