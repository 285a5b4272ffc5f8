# Placeholder until the API lands.
from rest_framework.views import APIView


class MessagesView(APIView):
    pass


class FeedbackView(APIView):
    pass


class StopView(APIView):
    pass


class HealthView(APIView):
    pass
